"""Writes of API keys: create, roll, revoke and the expiry sweep, each checked, validated and audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit.models import AuditAction
from accounts.audit.record import audit_record
from accounts.content.models import Project
from accounts.core.client import clean_ip
from accounts.core.credentials import HeldCredential
from accounts.core.permissions import SCOPE_ORDER, Permission, Role, with_implied_scopes
from accounts.core.principal import Principal, system_principal
from accounts.core.rls import tenant_scope
from accounts.core.toolpolicy import EVERYTHING, ToolPolicy, policy_change
from accounts.orgs.models import Organization
from accounts.orgs.selectors import membership_list_for_user, principal_for_member
from accounts.users.models import User
from apikeys import keys
from apikeys.models import ApiKey, ApiKeyStatus
from apikeys.selectors import apikey_list_expiry_due, apikey_visible

MAX_ROLL_OVERLAP = timedelta(days=7)


def clean_scopes(*, principal: Principal, scopes: Iterable[str]) -> list[str]:
    """Known scopes, each write scope with its read scope, all within what the principal may do."""
    requested = {str(scope) for scope in scopes}
    unknown = sorted(requested - set(SCOPE_ORDER))
    if unknown:
        raise ValidationError({"scopes": _("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)}})
    scope_list = with_implied_scopes(requested)
    if not scope_list:
        raise ValidationError({"scopes": _("Choose at least one scope.")})
    denied = [scope for scope in scope_list if not principal.can(Permission(scope))]
    if denied:
        raise ValidationError(
            {
                "scopes": _("Your role (%(role)s) cannot grant: %(scopes)s.")
                % {"role": Role(principal.role).label, "scopes": ", ".join(denied)}
            }
        )
    return scope_list


def _key_data(key: ApiKey, **extra: Any) -> dict[str, Any]:
    return {"name": key.name, "hint": key.hint, **extra}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@transaction.atomic
def apikey_create(
    *,
    principal: Principal,
    name: str,
    scopes: Iterable[str],
    project: Project | None = None,
    expires_at: datetime | None = None,
    tool_policy: ToolPolicy = EVERYTHING,
) -> tuple[ApiKey, str]:
    """Create a key acting as the principal's member; returns (key, plaintext), which is never stored."""
    principal.require(Permission.KEYS_CREATE)
    scope_list = clean_scopes(principal=principal, scopes=scopes)
    if project is not None:
        project = (
            Project.objects.visible_to(principal).filter(pk=project.pk, archived_at__isnull=True).first()
        )
        if project is None:
            raise ValidationError({"project": _("Choose one of this organization's active projects.")})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("Choose an expiry date in the future.")})
    plaintext = keys.generate()
    key = ApiKey(
        organization=principal.organization,
        name=name.strip(),
        digest=keys.digest(plaintext),
        hint=keys.hint(plaintext),
        project=project,
        scopes=scope_list,
        tool_policy=tool_policy.to_json(),
        created_by=principal.user,
        expires_at=expires_at,
    )
    key.full_clean()
    key.save()
    _audit_created(principal, key)
    return key, plaintext


def _audit_created(principal: Principal, key: ApiKey, **extra: Any) -> None:
    audit_record(
        principal=principal,
        action=AuditAction.APIKEY_CREATED,
        target=key,
        project=key.project,
        data=_key_data(
            key,
            scopes=key.scopes,
            project=key.project.slug if key.project else None,
            expires_at=_iso(key.expires_at),
            tool_policy=key.policy.describe(),
            **extra,
        ),
    )


@transaction.atomic
def apikey_roll(*, principal: Principal, key: ApiKey, overlap: timedelta) -> tuple[ApiKey, str]:
    """Replace a key by a new one with the same settings; the old one keeps working for `overlap`."""
    principal.require(Permission.KEYS_CREATE)
    old = apikey_visible(principal=principal).select_for_update().get(pk=key.pk)
    if principal.user is None or old.created_by_id != principal.user.pk:
        raise PermissionDenied(_("Only the member who created a key can roll it. Revoke it instead."))
    if not timedelta(0) <= overlap <= MAX_ROLL_OVERLAP:
        raise ValidationError({"overlap": _("Choose an overlap between none and 7 days.")})
    now = timezone.now()
    if old.status_at(now) != ApiKeyStatus.ACTIVE:
        raise ValidationError(
            _("Only an active key can be rolled; this one is %(status)s.")
            % {"status": str(old.status_at(now).label).lower()}
        )
    scope_list = clean_scopes(principal=principal, scopes=old.scopes)
    plaintext = keys.generate()
    # The new key gets as long a life as the old one was given; a key that never expired still won't.
    lifetime = old.expires_at - old.created_at if old.expires_at is not None else None
    new = ApiKey(
        organization=principal.organization,
        name=old.name,
        digest=keys.digest(plaintext),
        hint=keys.hint(plaintext),
        project=old.project,
        scopes=scope_list,
        tool_policy=old.tool_policy,
        created_by=principal.user,
        created_at=now,
        expires_at=now + lifetime if lifetime is not None else None,
    )
    new.full_clean()
    new.save()
    old_ends = now + overlap
    if old.expires_at is None or old_ends < old.expires_at:
        old.expires_at = old_ends
    old.replaced_by = new
    # With no overlap the roll itself is the expiry: the sweep has nothing left to record.
    old.expiry_recorded_at = now if overlap == timedelta(0) else None
    old.save(update_fields=["expires_at", "replaced_by", "expiry_recorded_at"])
    _audit_created(principal, new, rolled_from=old.public_id)
    audit_record(
        principal=principal,
        action=AuditAction.APIKEY_ROLLED,
        target=old,
        project=old.project,
        data=_key_data(
            old,
            new_key=new.public_id,
            new_hint=new.hint,
            overlap_seconds=int(overlap.total_seconds()),
            valid_until=_iso(old.expires_at),
        ),
    )
    return new, plaintext


@transaction.atomic
def apikey_revoke(*, principal: Principal, key: ApiKey, reason: str = "") -> ApiKey:
    """Revoke a key at once: its next request is refused. Members revoke their own, managers any."""
    key = apikey_visible(principal=principal).select_for_update().get(pk=key.pk)
    if principal.user is None or key.created_by_id != principal.user.pk:
        principal.require(Permission.KEYS_MANAGE)
    if key.revoked_at is not None:
        return key
    now = timezone.now()
    status_before = key.status_at(now)
    key.revoked_at = now
    key.revoked_by = principal.user
    key.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        principal=principal,
        action=AuditAction.APIKEY_REVOKED,
        target=key,
        project=key.project,
        data=_key_data(
            key,
            created_by=key.created_by.email,
            was=status_before.value,
            **({"reason": reason} if reason else {}),
        ),
    )
    return key


@transaction.atomic
def apikey_set_tool_policy(*, principal: Principal, key: ApiKey, tool_policy: ToolPolicy) -> ApiKey:
    """Change which MCP tools a key may call: its creator, or a manager. The next request obeys it."""
    key = apikey_visible(principal=principal).select_for_update().get(pk=key.pk)
    if principal.user is None or key.created_by_id != principal.user.pk:
        principal.require(Permission.KEYS_MANAGE)
    if not key.is_valid:
        raise ValidationError(_("This key no longer works; there is nothing to change."))
    before = key.policy
    if before.to_json() == tool_policy.to_json():
        return key
    key.tool_policy = tool_policy.to_json()
    # The generation trigger sees this column (apikeys migration 0003): every worker's cache lets go.
    key.save(update_fields=["tool_policy"])
    audit_record(
        principal=principal,
        action=AuditAction.APIKEY_TOOL_POLICY_CHANGED,
        target=key,
        project=key.project,
        data=_key_data(key, **policy_change(before, tool_policy)),
    )
    return key


class PersonalApiKeys:
    """The keys a person created, in every organization they belong to, as a credential issuer."""

    def _keys(self, *, user: User) -> list[tuple[Principal, ApiKey]]:
        found = []
        for membership in membership_list_for_user(user=user):
            principal = principal_for_member(user=user, org_slug=membership.organization.slug)
            keys = (
                ApiKey.objects.visible_to(principal)
                .valid()
                .filter(created_by_id=user.pk)
                .order_by("created_at")
            )
            found += [(principal, key) for key in keys]
        return found

    def active_for_user(self, *, user: User) -> list[HeldCredential]:
        return [
            HeldCredential(
                kind=str(_("API key")), label=f"{key.name} ({key.hint})", organization=p.organization.name
            )
            for p, key in self._keys(user=user)
        ]

    @transaction.atomic
    def revoke_for_user(self, *, user: User, reason: str, ip: str | None, user_agent: str) -> int:
        keys = self._keys(user=user)
        for principal, key in keys:
            principal = replace(principal, ip=clean_ip(ip), user_agent=user_agent)
            apikey_revoke(principal=principal, key=key, reason=reason)
        return len(keys)


def record_key_use(*, key: ApiKey, now: datetime, ip: str | None, older_than: datetime) -> None:
    """Stamp last use and address: one conditional UPDATE, so at most one write a minute per key."""
    # A unix socket peer or a garbled proxy header is no address: not worth failing the request for.
    ip = clean_ip(ip)
    with tenant_scope(organization_id=key.organization_id):  # also called from a cached credential
        ApiKey.objects.for_org(key.organization).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=older_than), pk=key.pk
        ).update(last_used_at=now, last_used_ip=ip)


def apikey_expire_due(*, org: Organization) -> list[ApiKey]:
    """Record `apikey.expired` exactly once for each key of the organization whose expiry has passed."""
    principal = system_principal(org=org)
    recorded = []
    for key in apikey_list_expiry_due(org=org):
        with transaction.atomic():
            # Claimed with a conditional UPDATE, so two sweeps running at once record each expiry once.
            claimed = (
                ApiKey.objects.for_org(org)
                .filter(pk=key.pk, expiry_recorded_at__isnull=True)
                .update(expiry_recorded_at=timezone.now())
            )
            if not claimed:
                continue
            audit_record(
                principal=principal,
                action=AuditAction.APIKEY_EXPIRED,
                target=key,
                project=key.project,
                data=_key_data(
                    key,
                    created_by=key.created_by.email,
                    expired_at=_iso(key.expires_at),
                    rolled=key.replaced_by_id is not None,
                ),
            )
            recorded.append(key)
    return recorded
