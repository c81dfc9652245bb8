"""OCSF mappings of the Email and URL click tables (Microsoft Defender for Office 365)."""

from __future__ import annotations

from ..specs import Rules, col, collect, const, first, lookup
from ._build import Plan, TableMapping, file_object, objects_of, sha256
from ._common import base

_DIRECTIONS = {"Inbound": 1, "Outbound": 2, "Intra-org": 3, "IntraOrg": 3}
_AUTH = ("SPF", "DKIM", "DMARC")
_AUTH_COLUMN = "AuthenticationDetails"
_DIRECTION_NAMES = {"Inbound": "Inbound", "Outbound": "Outbound", "Intra-org": "Internal", "IntraOrg": "Internal"}


#: Columns of which one makes the "email" object.
EMAIL_NEEDS = (
    "NetworkMessageId",
    "InternetMessageId",
    "Subject",
    "EmailSize",
    ("SenderFromAddress", "email"),
    ("SenderMailFromAddress", "email"),
    ("RecipientEmailAddress", "email"),
)


def _email(direction: bool = True) -> Rules:
    rules: Rules = {
        # NetworkMessageId is Microsoft's id; InternetMessageId the RFC 5322 Message-ID
        "email.uid": "NetworkMessageId",
        "email.message_uid": "InternetMessageId",
        "email.subject": "Subject",
        "email.from": col("SenderFromAddress", "email"),
        "email.smtp_from": col("SenderMailFromAddress", "email"),
        # RecipientEmailAddress is the recipient the message was delivered to (after distribution list
        # expansion): the envelope's RCPT TO; the To and Cc columns are the headers'
        "email.smtp_to": collect(col("RecipientEmailAddress", "email")),
        "email.to": col("To", "email_list"),
        "email.cc": col("Cc", "email_list"),
        "email.size": "EmailSize",
    }
    if direction:
        rules["direction_id"] = lookup("EmailDirection", _DIRECTIONS, 0)
        rules["direction"] = lookup("EmailDirection", _DIRECTION_NAMES, "Unknown")
    else:
        rules["direction_id"] = const(0)
        rules["direction"] = const("Unknown")
    return rules


EMAIL_EVENTS = TableMapping(
    "EmailEvents",
    common=base("EmailEvents"),
    plans=(
        Plan(
            4009,
            {
                **_email(),
                # SPF, DKIM and DMARC results
                **{f"email_auth.{k.lower()}": col(_AUTH_COLUMN, "json_value", f"get:{k}", "text") for k in _AUTH},
                # the sending server's address
                "src_endpoint.ip": first(col("SenderIPv4", "ip"), col("SenderIPv6", "ip")),
            },
            # mail the organization sends out is Send; inbound and intra-org mail, delivered to a
            # mailbox of the organization, is Receive
            activity={"Outbound": 1},
            activity_column="EmailDirection",
            default_activity=2,
            needs=(EMAIL_NEEDS,),
        ),
    ),
)

_ATTACHMENT = file_object("", "FileName", size="FileSize", sha256=sha256("SHA256"))

EMAIL_ATTACHMENT_INFO = TableMapping(
    "EmailAttachmentInfo",
    common=base("EmailAttachmentInfo"),
    plans=(
        Plan(
            4009,
            {
                **_email(direction=False),
                "email.files": {
                    "call": objects_of("files", "EmailAttachmentInfo", {k[1:]: v for k, v in _ATTACHMENT.items()})
                },
            },
            default_activity=3,
            needs=((*EMAIL_NEEDS, "FileName"),),
        ),
    ),
)

EMAIL_POST_DELIVERY_EVENTS = TableMapping(
    "EmailPostDeliveryEvents",
    common=base("EmailPostDeliveryEvents"),
    plans=(
        Plan(
            4009,
            _email(),
            default_activity=99,
            needs=(EMAIL_NEEDS,),
            status=lookup("ActionResult", {"Success": 1, "Succeeded": 1, "Error": 2, "Failed": 2}, 0),
        ),
    ),
)

EMAIL_URL_INFO = TableMapping(
    "EmailUrlInfo",
    common=base("EmailUrlInfo"),
    plans=(
        Plan(
            4009,
            {
                **_email(direction=False),
                "email.urls": {
                    "call": objects_of("urls", "EmailUrlInfo", {"url_string": "Url", "domain": "UrlDomain"})
                },
            },
            default_activity=3,
            needs=((*EMAIL_NEEDS, "Url"),),
        ),
    ),
)

URL_CLICK_EVENTS = TableMapping(
    "UrlClickEvents",
    common=base("UrlClickEvents"),
    plans=(
        Plan(
            6001,
            {
                "web_resources": col("Url", "wrap:url_string"),
                "src_endpoint.ip": col("IPAddress", "ip"),
                "actor.user.name": "AccountUpn",
                "actor.user.email_addr": col("AccountUpn", "email"),
                "http_request.url.url_string": "Url",
            },
            activity={"ClickAllowed": 2, "ClickBlocked": 2, "ClickBlockedByTenantPolicy": 2},
            default_activity=2,
            needs=(("Url",),),
            profiles=("datetime", "host"),
            status=lookup("ActionType", {"ClickAllowed": 1, "ClickBlocked": 2, "ClickBlockedByTenantPolicy": 2}, 0),
        ),
    ),
)

MAPPINGS = {
    m.table: m
    for m in (EMAIL_EVENTS, EMAIL_ATTACHMENT_INFO, EMAIL_POST_DELIVERY_EVENTS, EMAIL_URL_INFO, URL_CLICK_EVENTS)
}
