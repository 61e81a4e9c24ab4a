"""The MCP tools, one module per domain; importing this package registers them (mcpserver/registry.py)."""

from mcpserver.tools import audit, documents, members, projects, whoami

# The order of `tools/list`: who the token is, then the organization's data from the top down.
MODULES = (whoami, projects, documents, members, audit)
