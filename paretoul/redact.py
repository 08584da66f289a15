"""Keeping database passwords out of everything paretoul prints or writes.

:func:`mask_url` masks one URL given on its own (``--storage``, a spec's ``storage``);
:func:`mask_secrets` masks every URL embedded in a longer text (an error message, a log
line). Both err on the side of hiding too much: the password is taken to run up to the
*last* ``@`` (so an unencoded ``@``, ``:`` or ``/`` in it is hidden too), and a
``password=`` query parameter is hidden as well. Both are idempotent.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*://"
# One URL on its own: the user part stops at the first ':' or '/', the password runs to the
# last '@' of the string (whitespace and quotes included: the string is all URL).
_WHOLE = re.compile(rf"^(\s*{_SCHEME}[^:/]*):.*@", re.S)
# No scheme at all (not a URL, but maybe ``user:password@host``): hide from the first ':' to
# the last '@'.
_NO_SCHEME = re.compile(r"^([^:@]*):.*@", re.S)
# URLs inside a text: a URL ends at whitespace or a quote; within it, the password runs to
# its last '@'.
_EMBEDDED = re.compile(rf"({_SCHEME}[^\s'\"`:/]*):[^\s'\"`]*@")
_QUERY = re.compile(r"(?i)([?&;](?:password|passwd|pwd|sslpassword)=)[^&;#\s'\"`]*")


def mask_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    if _WHOLE.match(url):
        out = _WHOLE.sub(lambda m: f"{m.group(1)}:{MASK}@", url, count=1)
    elif "://" not in url and _NO_SCHEME.match(url):
        out = _NO_SCHEME.sub(lambda m: f"{m.group(1)}:{MASK}@", url, count=1)
    else:
        out = url
    return _QUERY.sub(lambda m: m.group(1) + MASK, out)


def mask_secrets(text: str) -> str:
    """``text`` with the password of every URL in it masked (see :func:`mask_url`)."""
    if "@" not in text and "=" not in text:
        return text
    out = _EMBEDDED.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    return _QUERY.sub(lambda m: m.group(1) + MASK, out)


class MaskSecrets(logging.Filter):
    """A logging filter that masks database passwords in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as usual
            return True
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Add :class:`MaskSecrets` to ``logger`` (default the ``paretoul`` logger), once."""
    log = logger or logging.getLogger("paretoul")
    if not any(isinstance(f, MaskSecrets) for f in log.filters):
        log.addFilter(MaskSecrets())
