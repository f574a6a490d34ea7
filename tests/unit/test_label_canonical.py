"""A label has exactly one spelling. Whatever the parser accepts is, byte for byte,
the canonical rendering of what it parsed; every variation of a genuine label is
refused as malformed, never quietly normalised into it."""

from __future__ import annotations

import base64
import secrets

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from events import labels
from events.catalog import RejectionReason
from services.gateway.identity import LabelIssuer

SEED = secrets.token_bytes(32)
KEYS = {"K1": labels.public_key(SEED)}
ASSET = labels.asset_id_for_serial("5CG1234XYZ")
BASE = "HTTPS://SERAH.ID"


def genuine(asset: str = ASSET, gen: int = 1, kid: str = "K1", base: str = BASE) -> str:
    return labels.format_label(base, asset, gen, kid, labels.sign(SEED, asset, gen, kid))


def refusal(text: str) -> RejectionReason | None:
    try:
        labels.check_scan(text, ASSET, KEYS)
    except labels.LabelError as exc:
        return exc.reason
    return None


asset_ids = st.text(alphabet=labels.CROCKFORD, min_size=10, max_size=10).map(lambda s: "SRH" + s)
key_ids = st.from_regex(r"\A[A-Z][A-Z0-9]{0,7}\Z")
hosts = st.from_regex(r"\A[A-Z0-9]{1,10}(\.[A-Z0-9]{1,8}){0,2}\Z")
bases = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["HTTP", "HTTPS"]),
    hosts,
    st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")),
    st.one_of(st.just(""), st.from_regex(r"\A(/[A-Za-z0-9._~-]{1,6}){1,2}\Z")),
)
claims = st.builds(
    labels.LabelClaim,
    asset_id=asset_ids,
    generation=st.integers(1, 999),
    key_id=key_ids,
    signature=st.binary(min_size=64, max_size=64),
    base=bases,
)


@given(claims)
def test_every_canonical_label_parses_back_to_what_it_says(claim: labels.LabelClaim) -> None:
    assert labels.parse(claim.text) == claim
    assert labels.parse(claim.text).text == claim.text


@given(claims)
def test_every_canonical_label_page_path_parses_back_to_what_it_says(claim: labels.LabelClaim) -> None:
    path = claim.text.removeprefix(claim.base)
    assert labels.parse_path(path).text == path


def _accepts(text: str) -> labels.LabelClaim | None:
    try:
        return labels.parse(text)
    except labels.LabelError as exc:
        assert exc.reason == RejectionReason.LABEL_MALFORMED and exc.detail
        return None


@settings(max_examples=300)
@given(st.text())
@example("/L/" + ASSET + "/1K1/" + "A" * 103)
def test_any_string_the_parser_accepts_is_exactly_its_canonical_spelling(text: str) -> None:
    claim = _accepts(text)
    assert claim is None or claim.text == text


def _splice(text: str, at: int, remove: int, insert: str) -> str:
    return text[:at] + insert + text[at + remove :]


@st.composite
def variations(draw: st.DrawFn) -> str:
    """A genuine label changed in one of the ways a scanner, a person or a forger
    changes text: case, look-alike Unicode, bytes around it, zeros, whitespace."""
    text = genuine(gen=draw(st.integers(1, 999)))
    kind = draw(st.sampled_from(["case", "confusable", "around", "zeros", "whitespace", "any"]))
    if kind == "case":
        i = draw(st.sampled_from([i for i, c in enumerate(text) if c.isalpha()]))
        return _splice(text, i, 1, text[i].lower())
    if kind == "confusable":
        # Characters whose upper case (or NFKC form) is an ASCII letter or digit of a label.
        look_alikes = {"S": "ſ", "I": "ı", "K": "\u212a", "A": "Ａ", "1": "١", "L": "ʟ", "2": "²"}
        spots = [i for i, c in enumerate(text) if c in look_alikes]
        i = draw(st.sampled_from(spots))
        return _splice(text, i, 1, look_alikes[text[i]])
    if kind == "around":
        junk = draw(st.text(min_size=1, max_size=8))
        return draw(st.sampled_from([junk + text, text + junk, junk + " " + text]))
    if kind == "zeros":
        gen_at = text.index("/", text.index("/L/") + 3) + 1
        return _splice(text, gen_at, 0, "0" * draw(st.integers(1, 3)))
    if kind == "whitespace":
        i = draw(st.integers(0, len(text)))
        return _splice(text, i, 0, draw(st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "\u200b", "\ufeff"])))
    i = draw(st.integers(0, len(text) - 1))
    return _splice(text, i, 1, draw(st.characters(exclude_characters=text[i])))


@settings(max_examples=400)
@given(variations())
def test_no_variation_of_a_genuine_label_is_accepted_as_that_label(text: str) -> None:
    claim = _accepts(text)
    if claim is None:
        return
    # What parses is its own canonical spelling: a different claim, whose signature
    # no longer matches (forged), or, for a change inside the host, a label that
    # points at another host (the base is not signed) — never a variant of this one.
    assert claim.text == text
    assert refusal(text) is not None or claim.base != BASE


@pytest.mark.parametrize(
    "text",
    [
        genuine().replace("/1K1/", "/01K1/"),
        genuine().replace("/1K1/", "/001K1/"),
        genuine().replace("SRH", "ſRH", 1),
        genuine().replace(BASE + "/L/SRH", BASE + "/L/ſRH"),
        "\x00\x00junk " + genuine(),
        " " + genuine(),
        genuine() + "\n",
        genuine() + "/",
        genuine() + "?x=1",
        genuine().lower(),
        genuine().replace("HTTPS", "https"),
        genuine().replace("/L/", "/l/"),
    ],
)
def test_the_reported_variants_of_a_genuine_label_are_malformed(text: str) -> None:
    assert refusal(text) == RejectionReason.LABEL_MALFORMED


def test_a_dotless_i_in_the_signature_is_malformed() -> None:
    text = next(t for t in (genuine(gen=n) for n in range(1, 1000)) if "I" in t[t.rindex("/") :])
    i = text.index("I", text.rindex("/"))
    assert refusal(text) is None
    assert refusal(_splice(text, i, 1, "ı")) == RejectionReason.LABEL_MALFORMED


def test_a_signature_with_non_zero_padding_bits_is_malformed() -> None:
    text = genuine()
    # The last base-32 character carries 2 bits of the signature and 3 unused bits;
    # only the spelling with the unused bits zero is genuine.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    last = alphabet.index(text[-1])
    twins = [c for v, c in enumerate(alphabet) if v >> 3 == last >> 3 and v != last]
    assert len(twins) == 7
    for c in twins:
        assert base64.b32decode(text[text.rindex("/") + 1 : -1] + c + "=") == labels.parse(text).signature
        assert refusal(text[:-1] + c) == RejectionReason.LABEL_MALFORMED


def test_the_reason_says_what_is_wrong() -> None:
    details = {}
    for name, text in {
        "zeros": genuine().replace("/1K1/", "/01K1/"),
        "junk": "junk " + genuine(),
        "unicode": genuine().replace("SRH", "ſRH", 1),
    }.items():
        with pytest.raises(labels.LabelError) as caught:
            labels.parse(text)
        details[name] = caught.value.detail
    assert "leading zeros" in details["zeros"]
    assert "before /L/" in details["junk"]
    assert "ASCII" in details["unicode"]


def test_the_issuer_writes_the_canonical_spelling_of_any_base_it_accepts() -> None:
    for configured, written in [
        ("https://serah.kemendagri.go.id/", "HTTPS://SERAH.KEMENDAGRI.GO.ID"),
        ("http://127.0.0.1:8000", "HTTP://127.0.0.1:8000"),
        ("https://Example.org/serah", "HTTPS://EXAMPLE.ORG/serah"),
    ]:
        issuer = LabelIssuer({"K1": SEED}, configured)
        text = issuer.url(ASSET, issuer.issue(ASSET))
        assert text.startswith(written + "/L/")
        assert labels.parse(text).text == text and refusal(text) is None


@pytest.mark.parametrize("configured", ["serah.id", "ftp://serah.id", "https://serah.id/a b", "https://serah.id:080"])
def test_a_base_url_no_label_could_be_read_back_from_is_refused_at_start(configured: str) -> None:
    with pytest.raises(ValueError):
        LabelIssuer({"K1": SEED}, configured)


@given(st.text(min_size=1, max_size=14))
@example(ASSET + "\n")
@example("K1\n")
def test_asset_and_key_ids_match_only_their_exact_ascii_form(text: str) -> None:
    if labels.ASSET_ID.fullmatch(text):
        assert text.isascii() and text.isupper() and len(text) == 13 and text.isalnum()
    if labels.KEY_ID.fullmatch(text):
        assert text.isascii() and text.isalnum() and text == text.upper()
