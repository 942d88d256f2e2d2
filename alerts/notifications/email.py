"""E-mail sends: a readable text mail whose headers hold nothing a user could break."""

import smtplib
from typing import Any

from django.core.mail import EmailMessage, get_connection

from alerts.notifications.render import one_line, render
from alerts.notifications.targets import SendError


def send_email(recipients: list[str], payload: dict[str, Any], timeout: float) -> None:
    message = render(payload)
    if not recipients:
        raise SendError("The channel has no e-mail addresses.", retry=False)
    mail = EmailMessage(
        subject=message.subject,  # already one line: a newline would make Django refuse the mail
        body=message.body,
        to=[one_line(address, 254) for address in recipients],
        connection=get_connection(timeout=timeout),
    )
    try:
        mail.send()
    except smtplib.SMTPRecipientsRefused:
        raise SendError("The mail server refused every recipient.", retry=False) from None
    except smtplib.SMTPAuthenticationError:
        raise SendError("The mail server refused our login (EMAIL_HOST_USER/PASSWORD).", retry=True) from None
    except smtplib.SMTPResponseException as error:
        raise SendError(f"The mail server answered SMTP {error.smtp_code}.", retry=True) from None
    except TimeoutError:
        raise SendError(f"The mail server did not answer within {timeout:g} s.", retry=True) from None
    except (smtplib.SMTPException, OSError):
        raise SendError("Could not hand the mail to the mail server (EMAIL_HOST, EMAIL_PORT).", retry=True) from None
