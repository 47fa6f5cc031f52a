from notifications.channels.base import ChannelBackend, ProviderError


class BrokenEmail(ChannelBackend):
    def send(self, message):
        raise ProviderError("SMTP down")


class SlowFileChannel(ChannelBackend):
    """Used by a real worker in the Celery tests: takes its time, then records the send in a file."""

    def send(self, message):
        import json
        import os
        import time

        time.sleep(float(os.environ.get("SLOW_CHANNEL_SECONDS", "0")))
        with open(os.environ["SLOW_CHANNEL_FILE"], "a") as file:
            file.write(json.dumps({"n": message.notification_id, "pid": os.getpid()}) + "\n")
            file.flush()
            os.fsync(file.fileno())
        return f"slow-{message.notification_id}"
