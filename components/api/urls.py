from rest_framework.routers import SimpleRouter

from components.api.views import ComponentViewSet

router = SimpleRouter(trailing_slash=True)
router.register("components", ComponentViewSet, basename="component")

urlpatterns = router.urls
