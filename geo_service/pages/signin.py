"""The sign-in page and the signed-in bar every page of a signed-in browser carries (#22).

The sign-in page takes the token an admin gave (``geo-service keys create --kind user_token``)
or a user name and a password an admin set (``geo-service keys password``). Its style is
inline (`_STYLE`), apart from the shared ``pages.css``, so the bar fits on folium map pages too.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from geo_service.pages.i18n import catalog, t
from geo_service.pages.kit import ENV, lang_links, root_of

#: The bar's and the sign-in form's own style (class names ``gs-si-*``).
_STYLE: Final[str] = """
.gs-si-bar{position:fixed;top:8px;left:50%;transform:translateX(-50%);z-index:1200;display:flex;
  align-items:center;gap:.5rem;max-width:calc(100vw - 120px);padding:.2rem .25rem .2rem .7rem;
  background:rgba(255,255,255,.95);border:1px solid #c8ced6;border-radius:1.2rem;
  box-shadow:0 1px 4px rgba(0,0,0,.2);font:13px/1.3 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:#1d2733}
.gs-si-who{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;min-width:0}
.gs-si-bar form{margin:0;flex:none}
.gs-si-bar button{font:inherit;padding:.3rem .7rem;border-radius:1rem;border:1px solid #1f4e8c;
  background:#fff;color:#1f4e8c;cursor:pointer;min-height:32px}
.gs-si-bar button:hover,.gs-si-bar button:focus-visible{background:#1f4e8c;color:#fff}
.gs-plain .gs-si-bar{position:static;transform:none;margin:.75rem auto 0;width:fit-content;
  max-width:calc(100% - 2rem);box-shadow:none}
.gs-plain .gs-si-who{white-space:normal}
.gs-si-bar.gs-si-in{position:static;transform:none;max-width:none;margin:0 0 4px;box-shadow:none;
  justify-content:space-between;border-radius:.6rem;background:#f3f5f8}
@media print{.gs-si-bar{display:none}}
"""

_BAR = ENV.from_string("""<style>{{ style }}</style>
<div class="gs-si-bar{% if in_header %} gs-si-in{% endif %}" role="region" aria-label="{{ t.signin_title }}">
  <span class="gs-si-who" title="{{ who }}">{{ who }}</span>
  <form method="post" action="{{ sign_out_url }}">
    <input type="hidden" name="csrf_token" value="{{ csrf }}">
    <button type="submit">{{ t.signin_sign_out }}</button>
  </form>
</div>
""")


def session_bar(*, lang: str, name: str, role: str, sign_out_url: str, csrf: str, in_header: bool = False) -> str:
    """Who is signed in (name, role) and a sign-out button: the first row of a map page's header
    (``in_header``), above a plain page's content, or else fixed at the top of the page."""
    tr = catalog(lang)
    who = t("signin_as", lang, name=f"{name} ({tr.get('signin_role_' + role, role)})")
    return _BAR.render(t=tr, who=who, sign_out_url=sign_out_url, csrf=csrf, style=_STYLE, in_header=in_header)


_SIGN_IN = ENV.from_string("""<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.signin_title }} · {{ t.service_name }}</title>
<link rel="stylesheet" href="{{ static }}/app/pages.css">
<style>
.gs-signin{max-width:26rem}
.gs-signin form{display:flex;flex-direction:column;gap:.5rem;margin:1rem 0}
.gs-signin label{font-weight:600}
.gs-signin input[type=password],.gs-signin input[type=text]{font:inherit;font-size:16px;padding:.6rem .7rem;
  border:1px solid #8a94a0;border-radius:.4rem;width:100%;box-sizing:border-box}
.gs-signin .gs-help{margin:0;color:#4d5966;font-size:.9rem}
.gs-signin button{font:inherit;font-size:1rem;padding:.7rem 1rem;border:0;border-radius:.4rem;
  background:#1f4e8c;color:#fff;cursor:pointer;min-height:44px}
.gs-signin .gs-secondary-form button{background:#fff;color:#1f4e8c;border:1px solid #1f4e8c}
.gs-signin details{margin-top:1.25rem;border-top:1px solid #d5dae0;padding-top:.75rem}
.gs-signin summary{cursor:pointer;color:#1f4e8c;min-height:32px}
.gs-signin .gs-error-text{color:#a11;background:#fdecec;border-radius:.4rem;padding:.6rem .7rem}
.gs-signin .gs-ok-text{background:#e8f3ea;border-radius:.4rem;padding:.6rem .7rem}
</style>
</head>
<body class="gs-plain">
<main class="gs-home gs-signin">
  <nav class="gs-lang" aria-label="{{ t.language }}">
    {% for code, label in langs %}
    <a href="?{{ keep }}lang={{ code }}" hreflang="{{ code }}" lang="{{ code }}" title="{{ label }}"
       {% if code == lang %}aria-current="true" class="gs-on"{% endif %}>{{ label }}</a>
    {% endfor %}
  </nav>
  <h1>{{ t.signin_title }}</h1>
{% if error %}  <p class="gs-error-text" role="alert">{{ error }}</p>
{% endif %}
{% if notice %}  <p class="gs-ok-text" role="status">{{ notice }}</p>
{% endif %}
{% if who %}
  <p>{{ who }}</p>
  <ul class="gs-links"><li><a class="gs-button" href="{{ next or root }}">{{ t.signin_continue }}</a></li></ul>
  <form method="post" action="{{ sign_out_url }}" class="gs-secondary-form">
    <input type="hidden" name="csrf_token" value="{{ session_csrf }}">
    <button type="submit">{{ t.signin_sign_out }}</button>
  </form>
{% else %}
  <p>{{ t.signin_intro }}</p>
  <form method="post" action="{{ action }}" autocomplete="off">
    <input type="hidden" name="csrf_token" value="{{ csrf }}">
    <label for="gs-token">{{ t.signin_token_label }}</label>
    <input id="gs-token" name="token" type="password" autocomplete="off" autocapitalize="off" spellcheck="false"
           required maxlength="200">
    <p class="gs-help">{{ t.signin_token_help }}</p>
    <button type="submit">{{ t.signin_submit }}</button>
  </form>
  <details{% if open_password %} open{% endif %}>
    <summary>{{ t.signin_or_password }}</summary>
    <form method="post" action="{{ action }}">
      <input type="hidden" name="csrf_token" value="{{ csrf }}">
      <label for="gs-login">{{ t.signin_login_label }}</label>
      <input id="gs-login" name="login" type="text" autocomplete="username" autocapitalize="off"
             spellcheck="false" required maxlength="200">
      <label for="gs-password">{{ t.signin_password_label }}</label>
      <input id="gs-password" name="password" type="password" autocomplete="current-password" required
             maxlength="200">
      <button type="submit">{{ t.signin_submit }}</button>
    </form>
  </details>
{% endif %}
  <ul class="gs-links"><li><a class="gs-button gs-secondary" href="{{ root }}?lang={{ lang }}">{{ t.nav_home }}</a></li></ul>
</main>
</body>
</html>
""")  # noqa: E501 - template markup


def sign_in_page(*, lang: str, action: str, csrf: str, static_url: str = "/static", error_key: str | None = None,
                 notice_key: str | None = None, who: tuple[str, str] | None = None, next_url: str | None = None,
                 sign_out_url: str = "", session_csrf: str = "", open_password: bool = False) -> str:
    """The sign-in form (token, or name and password), or who is signed in with a sign-out button.

    ``action`` is the form's URL (with its ``next``); ``csrf`` the form's own token; ``who`` the
    signed-in (name, role); ``error_key``/``notice_key`` a text key shown above the form."""
    static_url = static_url.rstrip("/")
    tr = catalog(lang)
    who_text = t("signin_as", lang, name=f"{who[0]} ({tr.get('signin_role_' + who[1], who[1])})") if who else ""
    return _SIGN_IN.render(t=tr, lang=lang, langs=lang_links(), static=static_url, root=root_of(static_url),
                           action=action, csrf=csrf, error=t(error_key, lang) if error_key else "",
                           notice=t(notice_key, lang) if notice_key else "", who=who_text, next=next_url,
                           sign_out_url=sign_out_url, session_csrf=session_csrf, open_password=open_password,
                           keep=f"next={quote(next_url, safe='/')}&" if next_url else "")


__all__ = ["session_bar", "sign_in_page"]
