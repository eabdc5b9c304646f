"""The words of the phone line's prompts, one file name each (pure data).

The shipped audio is synthesised from these at build time (``build_prompts``); a deployment
records its own voice under the same names (PARLEY_SIP_PROMPTS, docs/telephony.md)."""

from __future__ import annotations

MAX_ANNOUNCED = 30  # positions and minutes up to this have their own file; above: "more than"

BASE: dict[str, str] = {
    "welcome": "您好，这里是12348公共法律服务热线。",
    "recording_notice": "为保证服务质量，通话将全程录音。同意录音请按1，不同意请按2。",
    "menu_service": "法律咨询请按1，人民调解请按2，法律援助请按3。",
    "menu_language": "普通话请按1，赣语请按2，客家话请按3，粤语请按4，闽语请按5。",
    "invalid": "输入有误，请重新选择。",
    "queued": "已为您排队，请稍候。",
    "position_next": "您是下一位。",
    "position_more": f"您前面还有超过{MAX_ANNOUNCED}位。",
    "wait_more": f"预计等待超过{MAX_ANNOUNCED}分钟。",
    "connecting": "正在为您接通律师。",
    "lawyer_left": "律师已离开通话。",
    "rating": "请为本次服务评分，非常满意请按5，很不满意请按1。",
    "thanks": "感谢您的来电，再见。",
    "callback": "您好，这里是12348热线回拨，正在为您接通律师。",
    "code_entry": "如有调解邀请码，请输入邀请码，字母按它所在的数字键，以井号键结束；"
                  "没有邀请码请直接按井号键。",
    "code_invalid": "邀请码无效。",
    # 2 人民调解 / 3 法律援助 on the menu: the application is filed, its number read out.
    "filed": "您的申请已经登记，编号是",
    "number_year": "年，",
    "number_end": "号。",
    "next_mediation": "编号和需要补充的内容已发短信给您。请按短信提示用本机号码登录，填写对方当事人"
                      "并补充材料，人民调解委员会收到后会与您联系。",
    "next_legal_aid": "编号和需要补充的材料已发短信给您。请按短信提示用本机号码登录，说明经济困难"
                      "情况并补充材料，法律援助中心将在七日内审查并告知您结果。",
    "file_failed": "抱歉，申请未能登记，正在为您转接律师。",
    "code_locked": "尝试次数过多，请联系调解员重新发送邀请。",
    "id_entry": "请输入您身份证号码的最后四位，末位是X请按星号键，以井号键结束。",
    "id_invalid": "核验未通过，请重新输入。",
    "mediation_notice": "本次为人民调解委员会主持的在线调解。以虚构事实、恶意串通等方式进行虚假调解，"
                        "损害他人合法权益的，将依法承担法律责任。同意在线调解请按1。",
    "recording_required": "本次调解须全程录音，不同意录音则无法参加。",
    "lobby_wait": "请稍候，调解员将请您进入调解室。",
    "mediation_joined": "您已进入调解室。",
    "mediation_refused": "调解员未准许您进入。",
    "mediation_closed": "调解室现在没有开放，请在约定的时间再来电。",
    "mediation_ended": "调解会议已结束，感谢您的参加，再见。",
}
DIGITS = "零一二三四五六七八九"


def all_texts() -> dict[str, str]:
    """Every prompt: the fixed ones, then "N people ahead" and "about N minutes"."""
    texts = dict(BASE)
    for n in range(1, MAX_ANNOUNCED + 1):
        texts[f"position_{n}"] = f"您前面还有{n}位。"
        texts[f"wait_{n}"] = f"预计等待{n}分钟。"
    for d, word in enumerate(DIGITS):
        texts[f"digit_{d}"] = word
    return texts
