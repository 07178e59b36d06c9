"""Without a broker, the statistics are recomputed once after each request that committed a change."""

from analysis.services import statistics_batch


class StatisticsRecomputeMiddleware:
    """Each request is one statistics batch: with no broker (Celery eager), a request whose changes were
    committed recomputes the snapshot before it answers, so the next page shows current figures; a request
    that changed nothing costs nothing. With a broker, the changes queue a debounced job as before."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with statistics_batch():
            return self.get_response(request)
