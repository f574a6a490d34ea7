"""What the sign-in page needs: a token tying the form to the browser that loaded it
(login CSRF), a ``next`` that stays on this site, and the refusals in both languages."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Response

from services.gateway.auth.service import Session
from services.gateway.bootstrap import Gateway
from services.gateway.deps import set_session_cookie

FORM_COOKIE = "serah_form"

# The sign-in refusals as the page says them: Indonesian first, English beside it.
PROBLEMS = {
    "sign_in_refused": (
        "Akun atau kata sandi salah. Periksa keduanya; setelah 5 kali salah akun dikunci sementara.",
        "The account or the password is not right. Check both; after 5 tries the account locks for a while.",
    ),
    "account_locked": (
        "Terlalu banyak kata sandi salah: akun dikunci sementara. Tunggu, atau hubungi administrator.",
        "Too many wrong passwords: the account is locked for a while. Wait, or ask an administrator.",
    ),
    "csrf_token_missing": (
        "Formulir ini sudah kedaluwarsa. Muat ulang halaman lalu coba lagi.",
        "This form has expired. Reload the page and try again.",
    ),
}


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(expected: str | None, given: str) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected or "", given)


def safe_next(path: str) -> str:
    """Where to go after signing in: a path on this site, never another site
    (``//evil.example`` and ``/\\evil.example`` are other sites to a browser)."""
    if not path.startswith("/") or path.startswith(("//", "/\\")) or any(c in path for c in "\r\n\t"):
        return "/"
    return path


def problem(code: str, detail: str | None = None) -> dict[str, str]:
    in_id, in_en = PROBLEMS.get(code, (detail or "Tidak berhasil masuk.", detail or "Sign-in failed."))
    if code == "account_locked" and detail:
        in_en = detail
    return {"code": code, "id": in_id, "en": in_en}


def set_session(response: Response, gw: Gateway, session: Session) -> None:
    set_session_cookie(response, gw, session)
