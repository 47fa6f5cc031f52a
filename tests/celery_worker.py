"""`python -m tests.celery_worker <celery args>`: a Celery worker on the test run's clock."""

import sys

from tests import clock

if __name__ == "__main__":
    clock.follow_parent()
    from celery.__main__ import main

    sys.exit(main())
