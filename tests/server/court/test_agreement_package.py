"""The judicial-confirmation package and its offline verifier: OK when untouched; every one of
1,000 random byte flips and truncations caught; exact reports for typical changes."""

from __future__ import annotations

import io
import json
import random
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.agreements.content import canonical_document, canonical_text, sha256_hex
from server.agreements.pdf import render_pdf
from server.agreements.signing import SealKey
from server.court.package import build, json_bytes, write_zip
from server.court.verify import verify_package, verify_package_bytes
from signaling.app.cli import main
from tests.server.agreement_samples import Signer, content


def signed_package(tmp_path: Path) -> bytes:
    c = content()
    text = canonical_text(canonical_document("ag1", "case1", 2, c))
    digest = sha256_hex(text)
    seal = SealKey.load_or_create(tmp_path)
    signatures = []
    for signer_id, role in (("pa", "applicant"), ("pr", "respondent"), ("pm", "mediator")):
        signer = Signer()
        signatures.append({"signer_id": signer_id, "role": role, "name": role,
                           "signature": signer.sign(digest), "public_key": signer.jwk,
                           "fingerprint": "x", "sha256": digest})
    signatures.append({"signer_id": "committee", "role": "committee", "name": "委员会",
                       "signature": seal.sign(digest), "public_key": seal.public_jwk,
                       "fingerprint": seal.fingerprint, "sha256": digest})
    meta = {"application_id": "app1", "case_id": "case1", "agreement_id": "ag1", "version": 2,
            "agreement_sha256": digest, "court_code": "qz-kecheng-court",
            "submitted_at": "2026-12-01T00:00:00+00:00"}
    files = [("application.json", json_bytes({**meta, "kind": "joint application"})),
             ("agreement.json", text.encode()),
             ("agreement.pdf", b"%PDF-1.4 stand-in for speed\n" * 40),
             ("signatures.json", json_bytes(signatures)),
             ("session/chat.json", json_bytes([{"text": "大家好"}]))]
    data, head = build(meta, files, seal, "2026-12-01T00:00:00+00:00")
    assert len(head) == 64
    return data


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return signed_package(tmp_path_factory.mktemp("seal"))


def test_untouched_package_verifies(package: bytes, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    report = verify_package_bytes(package)
    assert report.ok, report.render()
    path = tmp_path / "p.zip"
    path.write_bytes(package)
    assert verify_package(path).ok
    assert main(["verify", "package", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"OK {path}")
    path.write_bytes(package[:-1])
    assert main(["verify", "package", str(path)]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_every_random_flip_and_truncation_is_caught(package: bytes) -> None:
    rng = random.Random(20261201)
    for trial in range(1000):
        data = bytearray(package)
        if trial % 4 == 3:
            data = data[:rng.randrange(len(data))]
            what = f"truncated to {len(data)}"
        else:
            at = rng.randrange(len(data))
            data[at] ^= rng.randrange(1, 256)
            what = f"byte {at} flipped"
        report = verify_package_bytes(bytes(data))
        assert not report.ok, what


def _members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(n, archive.read(n)) for n in archive.namelist()]


def test_reports_say_exactly_what_differs(package: bytes, tmp_path: Path) -> None:
    members = _members(package)
    # A member changed and the zip rebuilt around it (its CRC matches the new content).
    changed = [(n, d.replace("大家好".encode(), "大家坏".encode())) for n, d in members]
    report = verify_package_bytes(write_zip(changed))
    assert report.problems == [
        "session/chat.json: sha256 expected "
        f"{json.loads(dict(members)['manifest.json'])['files'][4]['sha256']}, actual "
        f"{__import__('hashlib').sha256(dict(changed)['session/chat.json']).hexdigest()}"]
    # An extra file, a missing file.
    report = verify_package_bytes(write_zip([*members[:-1], ("extra.txt", b"x"), members[-1]]))
    assert "extra.txt: not named in the manifest" in report.problems
    report = verify_package_bytes(write_zip(members[1:]))
    assert report.problems[0] == "application.json: missing"
    # A re-signed agreement with a new hash everywhere but the signatures.
    agreement = dict(members)["agreement.json"].replace(b"5000.00", b"500.00")
    resealed, _ = build(json.loads(dict(members)["manifest.json"])["package"],
                        [(n, agreement if n == "agreement.json" else d) for n, d in members[:-1]],
                        SealKey.load_or_create(tmp_path), "2026-12-01T00:00:00+00:00")
    report = verify_package_bytes(resealed)
    assert any(p.startswith("agreement.json: sha256") for p in report.problems), report.problems
    assert any("does not verify over the agreement's hash" in p for p in report.problems)
    # A zip time stamp changed: no hash covers it, the canonical layout does.
    info_at = package.index(b"PK\x03\x04") + 10
    touched = bytearray(package)
    touched[info_at] ^= 0x01
    report = verify_package_bytes(bytes(touched))
    assert report.problems == [f"zip structure: byte {info_at} differs from the canonical layout "
                               f"(changed outside the members' contents; {len(package)} bytes, "
                               f"expected {len(package)})"]


def test_pdf_text_and_rendering(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        pytest.fail("poppler-utils missing: `make install-test-system` installs it")
    from PIL import Image

    from server.agreements.models import AgreementSignature

    c = content(facts="李四家卫生间漏水，致张三家天花板受损。" * 120)
    digest = "ab" * 32
    signature = AgreementSignature(signer_id="pa", signer_role="applicant", signer_name="张三",
                                   fingerprint="f0" * 32,
                                   signed_at=datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC))
    pdf = render_pdf(c, case_id="case1", version=2, sha256=digest, signatures=[signature],
                     effective_at=datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC))
    assert pdf == render_pdf(c, case_id="case1", version=2, sha256=digest,
                             signatures=[signature],
                             effective_at=datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC))
    path = tmp_path / "agreement.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in fonts.stdout.splitlines()[2:] if line.strip()]
    # The Chinese font is embedded (reportlab's canvas also lists its unused default Helvetica).
    cjk = [row for row in rows if "WenQuanYi" in row[0]]
    assert cjk and all(row[-5] == "yes" for row in cjk), fonts.stdout
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = text.split("\f")[:-1]
    assert len(pages) >= 2
    assert all(f"SHA-256: {digest}" in page for page in pages)
    for expected in ("人民调解协议书", "张三", "李四", "人民币 5000.00 元", "2026-12-31",
                     "银行转账", "衢州市柯城区人民调解委员会", "f0" * 32, "2026-12-01 10:03:04"):
        assert "".join(expected.split()) in "".join(text.split()), expected
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True)
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    histogram = image.histogram()
    dark = sum(histogram[:128])
    assert image.size[0] > 300 and dark > 2000


def test_the_seal_line_names_the_committee_once(tmp_path: Path) -> None:
    import subprocess

    from server.agreements.models import AgreementSignature

    seal = AgreementSignature(signer_id="committee", signer_role="committee",
                              signer_name="赣州市章贡区人民调解委员会", fingerprint="0e" * 32,
                              signed_at=datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC))
    path = tmp_path / "agreement.pdf"
    path.write_bytes(render_pdf(content(), case_id="case1", version=2, sha256="ab" * 32,
                                signatures=[seal], effective_at=None))
    text = "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())
    assert "赣州市章贡区人民调解委员会（电子印章）" in text
    assert "委员会（人民调解委员会" not in text


def test_the_pdf_shows_the_readable_case_number_and_one_seal_line(tmp_path: Path) -> None:
    import subprocess

    from server.agreements.models import AgreementSignature

    seal = AgreementSignature(signer_id="committee", signer_role="committee",
                              signer_name="衢州市柯城区人民调解委员会", fingerprint="0e" * 32,
                              signed_at=datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC))
    path = tmp_path / "agreement.pdf"
    path.write_bytes(render_pdf(content(), case_id="0123456789abcdef0123456789abcdef", version=2,
                                sha256="ab" * 32, signatures=[seal], effective_at=None,
                                case_number="柯调〔2026〕12号"))
    text = "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())
    assert "案号：柯调〔2026〕12号" in text
    assert "0123456789abcdef" not in text  # the internal id is not the case number
    assert text.count("衢州市柯城区人民调解委员会（电子印章）") == 1
    assert "（人民调解委员会（" not in text
