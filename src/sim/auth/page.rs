//! The sign-in pages: plain HTML forms, no JavaScript. Element ids are stable (tests and
//! headless browsers drive them): `code`, `login`, `passwd`, `otc`, `next`, `cancel`, `error`,
//! `title`, hidden `flow`.

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} - Simulated Microsoft sign-in</title>\
<style>body{{font-family:sans-serif;background:#f2f2f2;margin:0}}\
main{{max-width:420px;margin:48px auto;background:#fff;padding:32px 40px;box-shadow:0 2px 6px rgba(0,0,0,.2)}}\
label{{display:block;margin:12px 0 4px}}input[type=text],input[type=password]{{width:100%;padding:6px;font-size:1.1em;box-sizing:border-box}}\
button{{margin:16px 8px 0 0;padding:6px 20px;font-size:1em}}#next{{background:#0067b8;color:#fff;border:0}}\
.error{{color:#e81123}}.brand{{color:#737373;font-size:.9em}}</style></head>\
<body><main><p class=\"brand\">Simulated Microsoft 365 tenant (exo-connect sim)</p>\
<h1 id=\"title\">{t}</h1>\n{body}\n</main></body></html>\n",
        t = esc(title),
        body = body
    )
}

/// `<p id="error">` with the message, or nothing.
pub fn error_line(error: Option<&str>) -> String {
    match error {
        Some(e) => format!(
            "<p id=\"error\" class=\"error\" role=\"alert\">{}</p>",
            esc(e)
        ),
        None => String::new(),
    }
}

/// The device-code entry form of `/devicelogin`.
pub fn enter_code(error: Option<&str>, value: &str) -> String {
    page(
        "Enter code",
        &format!(
            "<p>Enter the code displayed on your app or device.</p>{err}\
<form method=\"post\" action=\"/devicelogin\">\
<label for=\"code\">Code</label>\
<input type=\"text\" id=\"code\" name=\"otc\" value=\"{v}\" autocomplete=\"off\" autofocus>\
<button type=\"submit\" id=\"next\">Next</button></form>",
            err = error_line(error),
            v = esc(value)
        ),
    )
}

fn buttons(next: &str) -> String {
    format!(
        "<button type=\"submit\" id=\"next\" name=\"action\" value=\"next\">{}</button>\
<button type=\"submit\" id=\"cancel\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button>",
        esc(next)
    )
}

/// Step 1: the account name.
pub fn account(flow: &str, intro: &str, error: Option<&str>, value: &str) -> String {
    page(
        "Sign in",
        &format!(
            "<p>{intro}</p>{err}<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" id=\"flow\" name=\"flow\" value=\"{flow}\">\
<label for=\"login\">Email address (account)</label>\
<input type=\"text\" id=\"login\" name=\"login\" value=\"{v}\" autocomplete=\"username\" autofocus>\
{b}</form>",
            intro = esc(intro),
            err = error_line(error),
            flow = esc(flow),
            v = esc(value),
            b = buttons("Next")
        ),
    )
}

/// Step 2: the password (the account is shown, never re-sent by the browser).
pub fn password(flow: &str, upn: &str, error: Option<&str>) -> String {
    page(
        "Enter password",
        &format!(
            "<p id=\"account\">{upn}</p>{err}<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" id=\"flow\" name=\"flow\" value=\"{flow}\">\
<label for=\"passwd\">Password</label>\
<input type=\"password\" id=\"passwd\" name=\"passwd\" autocomplete=\"current-password\" autofocus>\
{b}</form>",
            upn = esc(upn),
            err = error_line(error),
            flow = esc(flow),
            b = buttons("Sign in")
        ),
    )
}

/// Step 3 (MFA accounts): the 6-digit code of the authenticator app.
pub fn verify(flow: &str, upn: &str, error: Option<&str>) -> String {
    page(
        "Enter code",
        &format!(
            "<p id=\"account\">{upn}</p><p>Enter the 6-digit code shown in your authenticator app \
(the sim prints each account's current code).</p>{err}<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" id=\"flow\" name=\"flow\" value=\"{flow}\">\
<label for=\"otc\">Verification code</label>\
<input type=\"text\" id=\"otc\" name=\"otc\" inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\" autofocus>\
{b}</form>",
            upn = esc(upn),
            err = error_line(error),
            flow = esc(flow),
            b = buttons("Verify")
        ),
    )
}

/// A final page (signed in, declined, or an error that ends the flow).
pub fn message(title: &str, text: &str, error: bool) -> String {
    let p = if error {
        error_line(Some(text))
    } else {
        format!("<p id=\"message\">{}</p>", esc(text))
    };
    page(title, &p)
}
