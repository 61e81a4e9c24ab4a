"""The dashboard's URLs, one `accounts` namespace, each domain listing its own (accounts/<domain>/urls.py)."""

from accounts.audit import urls as audit
from accounts.connect import urls as connect
from accounts.content import urls as content
from accounts.orgs import urls as orgs
from accounts.users import urls as users

app_name = "accounts"

urlpatterns = [
    *users.urlpatterns,
    *orgs.urlpatterns,
    *content.urlpatterns,
    *connect.urlpatterns,
    *audit.urlpatterns,
]
