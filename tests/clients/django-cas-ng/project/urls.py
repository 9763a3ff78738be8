from django.http import HttpResponse
from django.urls import path
import django_cas_ng.views


def whoami(request):
    user = request.user
    return HttpResponse(user.get_username() if user.is_authenticated else "anonymous",
                        content_type="text/plain")


urlpatterns = [
    path("accounts/login", django_cas_ng.views.LoginView.as_view(), name="cas_ng_login"),
    path("accounts/logout", django_cas_ng.views.LogoutView.as_view(), name="cas_ng_logout"),
    path("", whoami),
]
