"""The agreement as a PDF (人民调解协议书): Chinese text in an embedded TrueType font, a
signature block per signer (who, when, key fingerprint), the committee's seal, and the version's
SHA-256 on every page. Rendered with reportlab, invariant (same input, same bytes).

The font is WenQuanYi Zen Hei from Debian's fonts-wqy-zenhei, installed by ``make install-
system-fonts`` (``make run`` and ``make test`` do it): TrueType outlines, which reportlab
embeds as a subset. Noto CJK (CFF outlines) cannot be embedded by reportlab.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from server.agreements.content import AgreementContent, Party
from server.agreements.followup import CST
from server.agreements.models import AgreementSignature
from server.errors import ParleyError

FONT_NAME = "ParleyCJK"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc"),
)
SEX = {"male": "男", "female": "女"}
KIND = {"payment": "支付", "delivery": "交付", "act": "履行", "forbearance": "不作为",
        "status": "身份关系", "ownership": "权属"}
# What a signer signs as, after their name: the committee signs with its name, so its line
# reads "…人民调解委员会（电子印章）" (not the committee's kind a second time).
ROLES = {"applicant": "申请人", "respondent": "被申请人", "mediator": "调解员",
         "committee": "电子印章"}


def font_path() -> Path:
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    raise ParleyError("pdf_font_missing", "缺少中文字体，请运行 make install-system-fonts / the "
                      "Chinese font is missing: run `make install-system-fonts` "
                      "(Debian fonts-wqy-zenhei)", 503)


def _register() -> str:
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(font_path()), subfontIndex=0))
    return FONT_NAME


def _cst(at: datetime | None) -> str:
    return at.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S") + " (UTC+8)" if at else ""


def _party_line(p: Party) -> str:
    role = ROLES[p.side]
    if p.kind == "organisation":
        bits = [f"{role}：{p.name}", f"住所：{p.address}", f"法定代表人：{p.legal_representative or ''}",
                f"联系方式：{p.phone or ''}"]
    else:
        bits = [f"{role}：{p.name}", f"性别：{SEX.get(p.sex or '', '')}",
                f"出生日期：{p.date_of_birth.isoformat() if p.date_of_birth else ''}",
                f"民族：{p.ethnicity or ''}", f"身份证件号码：{p.id_number or ''}",
                f"住所：{p.address}", f"联系方式：{p.phone or ''}"]
    return "，".join(bits)


def _term(index: int, content: AgreementContent, o: Any) -> str:
    obligor = content.party(o.obligor)
    obligee = content.party(o.obligee)
    what = f"人民币 {o.amount} 元" if o.amount else ""
    if o.act:
        what = f"{what}（{o.act}）" if what else o.act
    parts = [f"{index}. {obligor.name if obligor else o.obligor}"]
    if o.deadline:
        parts.append(f"于 {o.deadline.isoformat()} 前")
    if o.place:
        parts.append(f"在{o.place}")
    if o.method:
        parts.append(f"以{o.method}方式")
    parts.append(f"向 {obligee.name if obligee else o.obligee} {KIND.get(o.kind, '')}{what}")
    return " ".join(parts) + "。"


def render_pdf(content: AgreementContent, *, case_id: str, version: int, sha256: str,
               signatures: Sequence[AgreementSignature], effective_at: datetime | None,
               case_number: str | None = None) -> bytes:
    """The PDF of one version with the live signatures on it. ``case_number``: the case's
    readable number (柯调〔2026〕12号); cases numbered before it existed show their id."""
    font = _register()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=12, leading=18, spaceBefore=6)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=11)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    story: list[Any] = [p("人民调解协议书", title), Spacer(1, 4 * mm),
                        p(f"案号：{case_number or case_id}　版本：第 {version} 版", small), Spacer(1, 3 * mm)]
    story += [p(_party_line(party)) for party in content.parties]
    story += [p("一、纠纷主要事实", head), p(content.facts),
              p("二、争议事项", head), p(content.issues),
              p("三、各方责任", head), p(content.responsibility),
              p("四、经调解，自愿达成如下协议", head)]
    story += [p(_term(i, content, o), body) for i, o in enumerate(content.obligations, start=1)]
    if content.other_terms.strip():
        story.append(p(content.other_terms))
    story += [p("五、履行方式与期限见上述各项约定。本协议自各方当事人签名、调解员签名并加盖人民调解委员会印章"
                "之日起生效。", head),
              p(f"本协议一式 {content.copies} 份，当事人各执一份，人民调解委员会留存一份。"),
              p(f"调解员：{'、'.join(m.name for m in content.mediators)}"),
              p(f"人民调解委员会：{content.committee.name}")]
    if effective_at is not None:
        story.append(p(f"生效时间：{_cst(effective_at)}"))
    story += [p("签名栏（电子签名 ECDSA P-256，签署内容为本版本规范文本的 SHA-256）", head)]
    for s in signatures:
        story.append(p(f"{s.signer_name}（{ROLES.get(s.signer_role, s.signer_role)}）"
                       f"　签署时间：{_cst(s.signed_at)}", body))
        story.append(p(f"公钥指纹 SHA-256：{s.fingerprint}", small))
    if not signatures:
        story.append(p("（尚无签名）", body))

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.drawString(18 * mm, 10 * mm, f"SHA-256: {sha256}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"第 {doc.page} 页 · 第 {version} 版")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm, title="人民调解协议书",
                            author=content.committee.name, invariant=1,
                            initialFontName=font, initialFontSize=10.5)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
