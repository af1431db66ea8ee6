"""Texts of browser sign-in, sign-out and renewing a route link (#22), in Kazakh, Russian
and English (merged into `geo_service.pages.i18n.STRINGS`)."""

from __future__ import annotations

from typing import Final

#: key -> {lang: text}; a key must not repeat one of another table (checked at import).
STRINGS: Final[dict[str, dict[str, str]]] = {
    "signin_title": {"kk": "Кіру", "ru": "Вход", "en": "Sign in"},
    "signin_intro": {
        "kk": "Инспекторлар, жоспарлаушылар және әкімшілер үшін. Әкімші берген кілтті енгізіңіз.",
        "ru": "Для инспекторов, планировщиков и администраторов. Введите ключ, выданный администратором.",
        "en": "For inspectors, planners and admins. Enter the token an admin gave you.",
    },
    "signin_token_label": {"kk": "Кіру кілті (токен)", "ru": "Ключ входа (токен)", "en": "Sign-in token"},
    "signin_token_help": {
        "kk": "gsu_ деп басталады. Кілтті ешкімге бермеңіз.",
        "ru": "Начинается с gsu_. Никому не передавайте ключ.",
        "en": "It starts with gsu_. Never share it.",
    },
    "signin_submit": {"kk": "Кіру", "ru": "Войти", "en": "Sign in"},
    "signin_or_password": {
        "kk": "Немесе әкімші орнатқан құпиясөзбен",
        "ru": "Или паролем, который задал администратор",
        "en": "Or with a password an admin set",
    },
    "signin_login_label": {
        "kk": "Пайдаланушы (инспектор коды немесе аты)",
        "ru": "Пользователь (код инспектора или имя)",
        "en": "User (inspector code or name)",
    },
    "signin_password_label": {"kk": "Құпиясөз", "ru": "Пароль", "en": "Password"},
    "signin_err_unknown": {
        "kk": "Кіру мүмкін болмады: кілт немесе құпиясөз белгісіз, мерзімі өткен немесе кері қайтарылған.",
        "ru": "Войти не удалось: ключ или пароль неизвестен, истёк или отозван.",
        "en": "Could not sign in: the token or password is unknown, expired or revoked.",
    },
    "signin_err_api_key": {
        "kk": "Бұл — сыртқы жүйенің API кілті, адамның кілті емес. Әкімшіден жеке кіру кілтін сұраңыз.",
        "ru": "Это API-ключ внешней системы, а не ключ человека. Попросите у администратора личный ключ входа.",
        "en": "This is an external system's API key, not a person's token. Ask an admin for your own sign-in token.",
    },
    "signin_err_form": {
        "kk": "Пішіннің мерзімі өтті. Қайта көріңіз.",
        "ru": "Форма устарела. Попробуйте ещё раз.",
        "en": "The form has expired. Please try again.",
    },
    "signin_err_rate": {
        "kk": "Кіру әрекеттері тым көп. Бір минуттан кейін қайталаңыз.",
        "ru": "Слишком много попыток входа. Повторите через минуту.",
        "en": "Too many sign-in attempts. Try again in a minute.",
    },
    "signin_as": {"kk": "Кірген: {name}", "ru": "Вы вошли: {name}", "en": "Signed in: {name}"},
    "signin_sign_out": {"kk": "Шығу", "ru": "Выйти", "en": "Sign out"},
    "signin_signed_out": {"kk": "Сіз шықтыңыз.", "ru": "Вы вышли.", "en": "You have signed out."},
    "signin_continue": {"kk": "Жалғастыру", "ru": "Продолжить", "en": "Continue"},
    "signin_link": {"kk": "Қызметкерлер үшін кіру", "ru": "Вход для сотрудников", "en": "Staff sign-in"},
    "signin_role_inspector": {"kk": "инспектор", "ru": "инспектор", "en": "inspector"},
    "signin_role_planner": {"kk": "жоспарлаушы", "ru": "планировщик", "en": "planner"},
    "signin_role_admin": {"kk": "әкімші", "ru": "администратор", "en": "admin"},
    "signin_err_role": {
        "kk": "Сіздің рөліңіз бұл бетті ашпайды.",
        "ru": "Ваша роль не открывает эту страницу.",
        "en": "Your role does not open this page.",
    },
    "signin_err_role_hint": {
        "kk": "Басқа кілтпен кіру үшін алдымен шығыңыз.",
        "ru": "Чтобы войти другим ключом, сначала выйдите.",
        "en": "To sign in with another token, sign out first.",
    },
    "signin_err_csrf": {
        "kk": "Сұрау қабылданбады: пішін осы сайттан жіберілмеген немесе ескірген. Бетті қайта ашып, қайталаңыз.",
        "ru": "Запрос отклонён: форма отправлена не с этого сайта или устарела. Откройте страницу заново "
              "и повторите.",
        "en": "Request refused: the form did not come from this site or is out of date. Reopen the page "
              "and try again.",
    },
    "renew_button": {"kk": "Жаңа сілтеме алу", "ru": "Получить новую ссылку", "en": "Get a new link"},
    "renew_hint_signed_in": {
        "kk": "Сіз кірдіңіз: осы маршруттың жаңа сілтемесін бірден ала аласыз.",
        "ru": "Вы вошли: новую ссылку на этот маршрут можно получить сразу.",
        "en": "You are signed in: you can get a new link to this route now.",
    },
    "renew_hint_sign_in": {
        "kk": "Маршрут инспекторы немесе жоспарлаушы кіріп, жаңа сілтемені өзі ала алады.",
        "ru": "Инспектор маршрута или планировщик может войти и сам получить новую ссылку.",
        "en": "The route's inspector or a planner can sign in and get a new link themselves.",
    },
    "renew_err_dead": {
        "kk": "Бұл сілтеме кері қайтарылған немесе жарамсыз: оны жаңарту мүмкін емес. Жоспарлаушыдан жаңасын сұраңыз.",
        "ru": "Эта ссылка отозвана или недействительна: её нельзя обновить. Попросите новую у планировщика.",
        "en": "This link was revoked or is not valid: it cannot be renewed. Ask a planner for a new one.",
    },
}
