# Every user-facing text of Gatehouse, in English.
# Adding a language is adding a folder beside this one with the same keys;
# `cargo test i18n` fails when a key is missing or extra in any language.

language-name = English

## JSON API envelope and answers

ok = OK
registered = Registered successfully!
signed-out = Signed out

## Error messages (`message` of an error envelope), one per `data.error` reason

error-captcha-invalid = The captcha is wrong or expired
error-invalid-params = Invalid parameters
error-verify-code-invalid = The verification code is wrong or expired
error-credentials-invalid = Wrong account or password
error-account-exists = This number is already registered
error-account-not-found = No such account
error-account-disabled = This account is disabled
error-password-weak = Password rejected: 8 to 72 bytes, not a common password, not your phone, e-mail or username
error-token-missing = Token missing
error-token-invalid = Token invalid
error-token-expired = Token expired
error-token-revoked = Token revoked, please sign in again
error-token-audience = This token was issued for a partner system and cannot be used here
error-refresh-window-passed = Refresh window passed, please sign in again
error-callback-not-registered = Callback URL not registered
error-client-auth-failed = Client authentication failed
error-wechat-code-invalid = WeChat login code invalid
error-word-info-invalid = word-info could not be decrypted
error-rate-limited = Too many requests, try again later
error-forbidden = Forbidden
error-not-found = Not found
error-method-not-allowed = Method not allowed
error-payload-too-large = Payload too large
error-conflict = Conflict: { $what }
error-unavailable = Service unavailable, try again later
error-internal = Internal server error

## The e-mail that carries a code

mail-purpose = { $purpose ->
    [signup] sign-up
    [signin] sign-in
    [reset_password] password reset
    [change_contact] e-mail change
   *[other] verification
}
mail-subject = Your Gatehouse { mail-purpose } code
mail-greeting = Hello,
mail-intro = Here is your { mail-purpose } code:
mail-validity = It is valid for { $minutes } minutes and can be used once.
mail-ignore = If you did not ask for it, ignore this message and do not share the code.

## Pages

page-product = Gatehouse single sign-on
page-sign-in = Sign in
page-sign-in-to = Sign in to continue
page-tab-password = Password
page-tab-code = Verification code
page-number = Phone or e-mail
page-number-hint = e.g. 13800138000 or name@example.com
page-password = Password
page-captcha = Captcha
page-captcha-refresh = Can't read it? Click the image for another
page-code = Code
page-send-code = Send code
page-sign-up = Create an account
page-forgot = Forgot password
page-new-password = New password
page-old-password = Current password
page-username = Username (optional)
page-reset = Reset password
page-account = My account
page-sessions = Signed-in sessions
page-systems = Signed into
page-none = none
page-this-device = this device
page-end-session = End this session
page-sign-out = Sign out
page-sign-out-all = Sign out everywhere
page-change-password = Change password
page-saved = Saved
page-signed-out = Signed out
page-signed-out-text = You are signed out; every system you were signed into is told.
page-error-title = Something went wrong
page-err-callback = This return address is not registered, so we will not send you there. Contact that site's administrator.
page-err-forbidden = The request was invalid or expired. Go back and try again.
page-err-generic = The request could not be completed. Try again later.
page-err-credentials = Wrong account or password
page-err-captcha = The captcha is wrong or expired
page-err-code = The code is wrong or expired
page-err-required = Required
page-err-number = Enter a valid phone number or e-mail address
page-err-locked = Too many attempts, try again later
page-err-disabled = This account is disabled
page-err-not-found = No such account
page-err-exists = This number is already registered
page-err-weak = 8 to 72 bytes, not a common password, not your phone, e-mail or username
page-err-unavailable = Service unavailable, try again later
page-signup-done = Account created. Please sign in.
page-reset-done = Password reset. Sign in with the new one.
page-admin = Admin console
page-partners = Partner systems
page-users = Users
page-deliveries = Single-logout deliveries
page-name = Name
page-callbacks = Callback rules
page-callbacks-hint = One per line; end with /* for a path prefix
page-redirect-uris = Redirect URIs (OpenID Connect)
page-post-logout-redirect-uris = Post-logout redirect URIs (OpenID Connect)
page-uris-hint = One exact URL per line
page-auth-method = Token endpoint authentication (OpenID Connect)
page-id-token-alg = ID token algorithm (OpenID Connect)
page-oidc-only = OpenID Connect partners only
page-sign-out-of = Sign out of Gatehouse?
page-sign-out-confirm = Sign out
page-err-flow-expired = This sign-in request has expired. Go back to the application and start again.
page-logout-url = Logout URL (optional)
page-mode = Return mode
page-enabled = Enabled
page-create = Create
page-save = Save
page-rotate = Rotate secret
page-disable = Disable
page-enable = Enable
page-search = Search
page-force-sign-out = Force sign-out
page-state = State
page-attempts = Attempts
page-last-error = Last error
page-audit = Audit trail
page-event = Event
page-detail = Detail
page-page = Page
page-previous = Previous
page-next = Next
page-recent-signins = Recent sign-ins
page-when = When
page-how = How
page-backlog = Waiting deliveries per partner
page-pending = Pending
page-oldest-pending = Oldest waiting since
page-signing-keys = Signing keys
page-rotate-key = Make a new key
page-retires-at = Retires at
page-secret-once = Save the client secret now; it is shown only once:
