"""WhiteNoise, able to sit in an async middleware stack.

WhiteNoise's middleware is sync-only. Under daphne one sync middleware makes
Django run the whole stack in a thread and hop back to the event loop for
the view dispatch, then to a thread again for the view: two extra crossings
per request, each waiting its turn on a loop that is also feeding every
socket (with 1,000 sockets connected that wait dominated REST latency,
``bench/load.py``). Finding a file is a dictionary lookup (a few stat
calls with ``autorefresh``, under DEBUG) and Django's ASGI handler streams
the body in any case, so the lookup runs on the loop and everything else is
passed on untouched.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        super().__init__(get_response)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        static_file = self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)
