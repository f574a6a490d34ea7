"""What the sign-in page needs: a token tying the form to the browser that loaded it
(login CSRF), a ``next`` that stays on this site, and the refusals in both languages."""

from __future__ import annotations

import secrets

from fastapi import Response

from events.text import same_secret
from services.gateway.auth.service import Session
from services.gateway.bootstrap import Gateway
from services.gateway.deps import set_session_cookie

FORM_COOKIE = "serah_form"
SSO_COOKIE = "serah_sso"  # the state of a sign-in started at the identity provider

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
    "sso_off": (
        "Masuk lewat SSO instansi tidak diaktifkan di sini. Masuk dengan akun Serah.",
        "Signing in through an identity provider is not set up here. Sign in with a Serah account.",
    ),
    "sso_state": (
        "Proses masuk ini dimulai di peramban lain atau sudah kedaluwarsa. Mulai lagi dari tombol SSO.",
        "This sign-in was started in another browser or has expired. Start again from the SSO button.",
    ),
    "sso_cancelled": (
        "Penyedia identitas tidak memberi izin masuk. Coba lagi, atau masuk dengan akun Serah.",
        "The identity provider did not sign you in. Try again, or sign in with a Serah account.",
    ),
    "sso_refused": (
        "Jawaban penyedia identitas tidak dapat diterima (mungkin kedaluwarsa). Masuk lagi.",
        "The identity provider's answer could not be accepted (it may have expired). Sign in again.",
    ),
    "sso_unreachable": (
        "Penyedia identitas tidak menjawab. Coba lagi sebentar lagi, atau masuk dengan akun Serah.",
        "The identity provider did not answer. Try again in a minute, or sign in with a Serah account.",
    ),
    "sso_no_role": (
        "Penyedia identitas tidak memberi Anda peran di Serah. Minta administratornya menambahkan peran.",
        "The identity provider gave you no Serah role. Ask its administrator to add one.",
    ),
    "sso_claims_unreadable": (
        "Data dari penyedia identitas tidak dapat dibaca. Minta administratornya memperbaikinya.",
        "What the identity provider sent cannot be read. Ask its administrator to correct it.",
    ),
    "account_not_federated": (
        "Akun dengan NIP ini sudah ada di sini dengan kata sandinya sendiri. Masuk dengan akun itu.",
        "An account with this NIP already exists here with its own password. Sign in with it.",
    ),
    "account_disabled": (
        "Akun ini dinonaktifkan. Hubungi administrator.",
        "This account is disabled. Ask an administrator.",
    ),
}
# Refusals whose English detail names exactly what to change (a claim, a time): shown as given.
SPECIFIC = {"account_locked", "sso_no_role", "sso_claims_unreadable"}


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(expected: str | None, given: str) -> bool:
    return bool(expected) and bool(given) and same_secret(expected or "", given)


def safe_next(path: str) -> str:
    """Where to go after signing in: a path on this site, never another site
    (``//evil.example`` and ``/\\evil.example`` are other sites to a browser)."""
    if not path.startswith("/") or path.startswith(("//", "/\\")) or any(c in path for c in "\r\n\t"):
        return "/"
    return path


def problem(code: str, detail: str | None = None) -> dict[str, str]:
    in_id, in_en = PROBLEMS.get(code, (detail or "Tidak berhasil masuk.", detail or "Sign-in failed."))
    if code in SPECIFIC and detail:
        in_en = detail
    return {"code": code, "id": in_id, "en": in_en}


def set_session(response: Response, gw: Gateway, session: Session) -> None:
    set_session_cookie(response, gw, session)
