import json
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from notifications.delivery.channels.base import ChannelBackend, Message


class FileSmsChannel(ChannelBackend):
    """Development SMS: appends each message as a JSON line to SMS_FILE_PATH/sms.jsonl."""

    def send(self, message: Message) -> str:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "id": f"sms-{message.notification_id}",
            "from": settings.BRAND_SMS_SENDER_ID,
            "to": message.to,
            "body": message.body,
            "at": timezone.now().isoformat(),
        }
        with (folder / "sms.jsonl").open("a", encoding="utf-8") as file:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")
        return record["id"]


class MemorySmsChannel(ChannelBackend):
    """Keeps messages in memory (tests and benchmarks)."""

    outbox: list[Message] = []

    def send(self, message: Message) -> str:
        MemorySmsChannel.outbox.append(message)
        return f"mem-{message.notification_id}"


class NullChannel(ChannelBackend):
    """Sends nothing, instantly: for benchmarks of the pipeline itself."""

    def send(self, message: Message) -> str:
        return f"null-{message.notification_id}"
