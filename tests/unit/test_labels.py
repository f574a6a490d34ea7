from __future__ import annotations

import secrets

import pytest

from events import labels
from events.catalog import RejectionReason
from services.gateway.adapters import qr
from services.gateway.identity import LabelIssuer

SEED = secrets.token_bytes(32)
OTHER = secrets.token_bytes(32)
KEYS = {"K1": labels.public_key(SEED)}
ASSET = labels.asset_id_for_serial("5CG1234XYZ")


def label(asset: str = ASSET, gen: int = 1, kid: str = "K1", seed: bytes = SEED, base: str = "HTTPS://SERAH.ID") -> str:
    return labels.format_label(base, asset, gen, kid, labels.sign(seed, asset, gen, kid))


def reason_of(text: str, subject: str = ASSET, keys: dict[str, bytes] = KEYS) -> RejectionReason | None:
    try:
        labels.check_scan(text, subject, keys)
    except labels.LabelError as exc:
        return exc.reason
    return None


def test_a_genuine_label_verifies_and_names_its_laptop() -> None:
    claim = labels.check_scan(label(), ASSET, KEYS)
    assert (claim.asset_id, claim.generation, claim.key_id) == (ASSET, 1, "K1")


def test_the_asset_id_is_derived_from_the_serial_and_case_insensitive() -> None:
    assert labels.asset_id_for_serial(" 5cg1234xyz ") == ASSET
    assert labels.asset_id_for_serial("5CG1234XYA") != ASSET
    assert labels.ASSET_ID.fullmatch(ASSET)


def test_flipping_any_character_of_the_signature_is_caught() -> None:
    text = label()
    head, sig = text.rsplit("/", 1)
    for i, ch in enumerate(sig):
        other = "A" if ch != "A" else "B"
        tampered = f"{head}/{sig[:i]}{other}{sig[i + 1 :]}"
        assert reason_of(tampered) in (RejectionReason.LABEL_FORGED, RejectionReason.LABEL_MALFORMED), i


def test_a_truncated_label_is_malformed() -> None:
    text = label()
    for cut in (1, 10, 50, len(text) - 20):
        assert reason_of(text[:-cut]) == RejectionReason.LABEL_MALFORMED


def test_a_label_signed_by_an_unknown_key_is_refused_as_such() -> None:
    assert reason_of(label(kid="K9", seed=OTHER)) == RejectionReason.LABEL_UNKNOWN_KEY


def test_another_keys_signature_under_a_trusted_key_id_is_forged() -> None:
    assert reason_of(label(seed=OTHER)) == RejectionReason.LABEL_FORGED


def test_a_valid_signature_moved_to_another_asset_is_forged() -> None:
    other = labels.asset_id_for_serial("OTHER-SERIAL")
    genuine = label()
    moved = genuine.replace(ASSET, other)
    assert reason_of(moved, subject=other) == RejectionReason.LABEL_FORGED


def test_a_genuine_label_sent_for_another_laptop_is_a_mismatch() -> None:
    assert reason_of(label(), subject=labels.asset_id_for_serial("X1")) == RejectionReason.LABEL_ASSET_MISMATCH


def test_an_older_generation_is_revoked() -> None:
    claim = labels.check_scan(label(gen=1), ASSET, KEYS)
    with pytest.raises(labels.LabelError) as exc:
        labels.check_current(claim, ASSET, current_generation=2)
    assert exc.value.reason == RejectionReason.LABEL_REVOKED


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "https://serah.id/L/",
        "https://serah.id/L/SRH/1K1/AAAA",
        "/L/SRHD1M743J0FY/0K1/" + "A" * 103,
        "/L/SRHD1M743J0FY/1k-1/" + "A" * 103,
        "/L/SRHD1M743J0FY/1K1/" + "1" * 103,
        "/L/SRHD1M743J0FY/K1/" + "A" * 103,
        "/L/SRHD1M743J0FY/11/" + "A" * 103,
        "\x00" * 600,
    ],
)
def test_garbage_is_malformed_not_a_crash(text: str) -> None:
    assert reason_of(text) == RejectionReason.LABEL_MALFORMED


def test_a_lower_case_label_is_malformed() -> None:
    assert reason_of(label().lower()) == RejectionReason.LABEL_MALFORMED


def test_the_label_qr_is_small_enough_to_print_20mm_wide() -> None:
    base = "https://serah.kemendagri.go.id/"
    assert len(labels.canonical_base(base)) <= labels.MAX_BASE_URL_CHARS
    issuer = LabelIssuer({"K1": SEED, "KEY2": OTHER}, base)
    url = issuer.url(ASSET, issuer.issue(ASSET, generation=9))
    assert qr.version(url) <= 6


def test_a_key_ring_round_trips_and_rejects_bad_entries() -> None:
    ring = {"K1": SEED, "K2": OTHER}
    assert labels.parse_keyring(labels.format_keyring(ring)) == ring
    for bad in ("K1", "k1:AAAA", "K1:AAAA", "1K:" + "A" * 43):
        with pytest.raises(ValueError):
            labels.parse_keyring(bad)


# --- issue 3: rotation, offline key file, hostile payloads -----------------

NEW = secrets.token_bytes(32)


def test_after_rotation_new_labels_use_the_new_key_and_old_ones_verify_while_trusted() -> None:
    old_issuer = LabelIssuer({"K1": SEED}, "HTTPS://SERAH.ID")
    old_label = old_issuer.url(ASSET, old_issuer.issue(ASSET))
    rotated = LabelIssuer({"K2": NEW, "K1": SEED}, "HTTPS://SERAH.ID")
    ref = rotated.issue(ASSET, generation=2)
    assert ref.key_id == "K2"
    new_label = rotated.url(ASSET, ref)
    ring = rotated.public_keys()
    assert labels.check_scan(new_label, ASSET, ring).key_id == "K2"
    assert labels.check_scan(old_label, ASSET, ring).key_id == "K1"
    # A label is re-rendered with the key that signed it while that key is in the ring.
    assert rotated.url(ASSET, old_issuer.issue(ASSET)) == old_label
    # Once K1 is retired from the trusted ring its labels stop verifying, with their own reason.
    assert reason_of(old_label, keys={"K2": labels.public_key(NEW)}) == RejectionReason.LABEL_UNKNOWN_KEY


def test_an_offline_scanner_checks_a_label_with_only_the_published_key_file() -> None:
    import json

    doc = json.loads(
        json.dumps(labels.keyring_document({"K2": labels.public_key(NEW), "K1": labels.public_key(SEED)}, "K2"))
    )
    assert [k["active"] for k in doc["keys"]] == [True, False]
    assert labels.verify_offline(label(), doc).asset_id == ASSET
    assert labels.verify_offline(label(kid="K2", seed=NEW), doc).key_id == "K2"
    with pytest.raises(labels.LabelError) as exc:
        labels.verify_offline(label(kid="K2", seed=SEED), doc)
    assert exc.value.reason == RejectionReason.LABEL_FORGED
    assert "SEED" not in json.dumps(doc) and all(len(k["public_key"]) == 43 for k in doc["keys"])


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"format": "x"},
        {"format": labels.KEYRING_FORMAT},
        {"format": labels.KEYRING_FORMAT, "keys": [1]},
        {"format": labels.KEYRING_FORMAT, "keys": [{"key_id": "k1", "public_key": "AAAA"}]},
        {"format": labels.KEYRING_FORMAT, "keys": [{"key_id": "K1", "public_key": "AAAA"}]},
    ],
)
def test_a_broken_key_file_is_refused_saying_what_is_wrong(doc: dict[str, object]) -> None:
    with pytest.raises(ValueError) as exc:
        labels.verify_offline(label(), doc)
    assert not isinstance(exc.value, labels.LabelError) and str(exc.value)


def test_changing_any_single_character_of_the_label_path_never_yields_a_genuine_label() -> None:
    text = label()
    start = text.index("/L/") + 3
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ/-"
    for i in range(start, len(text)):
        for other in alphabet:
            if other == text[i]:
                continue
            tampered = text[:i] + other + text[i + 1 :]
            try:
                claim = labels.check_scan(tampered, labels.parse(tampered).asset_id, KEYS)
            except labels.LabelError:
                continue
            raise AssertionError(f"position {i} -> {other!r} still verifies as {claim}")


def test_every_byte_of_the_label_flipped_is_refused() -> None:
    raw = label().encode()
    for i in range(len(raw)):
        for bit in (0x01, 0x20, 0x80):
            tampered = bytearray(raw)
            tampered[i] ^= bit
            text = tampered.decode("latin-1")
            if i < len("HTTPS://SERAH.ID"):
                continue  # the base URL is not signed: the host a phone opens is not the identity
            assert reason_of(text) is not None, (i, bit)


@pytest.mark.parametrize("extra", ["A", "AA", "AAAAAAAA", "Q" * 50])
def test_a_signature_that_is_too_long_is_malformed(extra: str) -> None:
    assert reason_of(label() + extra) == RejectionReason.LABEL_MALFORMED


def test_a_genuine_signature_for_generation_1_does_not_verify_as_generation_2() -> None:
    moved = label(gen=1).replace("/1K1/", "/2K1/")
    assert reason_of(moved) == RejectionReason.LABEL_FORGED


@pytest.mark.parametrize(
    ("text", "registered", "current", "expected"),
    [
        (label(seed=OTHER), False, 1, RejectionReason.LABEL_FORGED),  # forgery named even for an unknown laptop
        (label(), False, 1, RejectionReason.UNKNOWN_LAPTOP),
        (label(gen=1), True, 2, RejectionReason.LABEL_REVOKED),
        (label()[:-3], True, 1, RejectionReason.LABEL_MALFORMED),
    ],
)
def test_a_scanned_label_is_judged_forgery_first_then_registration_then_currency(
    text: str, registered: bool, current: int, expected: RejectionReason
) -> None:
    with pytest.raises(labels.LabelError) as caught:
        labels.check_scanned_label(text, ASSET, KEYS, registered=registered, current_generation=current)
    assert caught.value.reason == expected


def test_the_current_label_of_a_registered_laptop_passes_the_scan_check() -> None:
    claim = labels.check_scanned_label(label(gen=2), ASSET, KEYS, registered=True, current_generation=2)
    assert claim.generation == 2
