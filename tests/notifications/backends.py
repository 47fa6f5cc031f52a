from notifications.delivery.channels.base import ChannelBackend, ProviderError


class BrokenEmail(ChannelBackend):
    def send(self, message):
        raise ProviderError("SMTP down")


class SlowFileChannel(ChannelBackend):
    """A provider for a real worker in the Celery tests: takes its time, then accepts the message
    and logs the attempt, with its idempotency key, in a file (what the provider saw)."""

    def send(self, message):
        import json
        import os
        import time

        time.sleep(float(os.environ.get("SLOW_CHANNEL_SECONDS", "0")))
        with open(os.environ["SLOW_CHANNEL_FILE"], "a") as file:
            record = {"n": message.notification_id, "key": message.idempotency_key, "pid": os.getpid()}
            file.write(json.dumps(record) + "\n")
            file.flush()
            os.fsync(file.fileno())
        return f"slow-{message.idempotency_key}"
