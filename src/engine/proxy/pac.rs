//! PAC evaluation: `FindProxyForURL(url, host)` in a sandboxed QuickJS (rquickjs) context with the
//! standard helper functions. The script gets no file or network access (QuickJS core has none;
//! no std/os modules are loaded); the DNS helpers go through a [`Resolver`] the caller controls.
//! Every evaluation has a deadline (an interrupt handler) and a memory limit.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::wpad::Resolver;

/// Default time a PAC script may take for one URL.
pub const PAC_TIMEOUT: Duration = Duration::from_secs(2);

/// One entry of a PAC result (`PROXY a:1; SOCKS b:2; DIRECT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacEntry {
    Direct,
    /// `PROXY host:port` (or `HTTP host:port`): an http proxy.
    Proxy(String),
    /// `HTTPS host:port`: a proxy spoken to over TLS.
    Https(String),
    /// `SOCKS`/`SOCKS4`/`SOCKS5 host:port` (not supported by our client).
    Socks(String),
}

/// Parses a PAC result string. Unknown entries are skipped; an empty result means DIRECT.
pub fn parse_result(s: &str) -> Vec<PacEntry> {
    let mut out = Vec::new();
    for part in s.split(';') {
        let mut words = part.split_whitespace();
        let Some(kind) = words.next() else { continue };
        let arg = words.next().unwrap_or("").to_string();
        match kind.to_ascii_uppercase().as_str() {
            "DIRECT" => out.push(PacEntry::Direct),
            "PROXY" | "HTTP" if !arg.is_empty() => out.push(PacEntry::Proxy(arg)),
            "HTTPS" if !arg.is_empty() => out.push(PacEntry::Https(arg)),
            "SOCKS" | "SOCKS4" | "SOCKS5" if !arg.is_empty() => out.push(PacEntry::Socks(arg)),
            _ => {}
        }
    }
    if out.is_empty() {
        out.push(PacEntry::Direct);
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacError {
    #[error("the PAC script did not finish within {0:?} (endless loop?)")]
    Timeout(Duration),
    #[error("the PAC script failed: {0}")]
    Script(String),
}

/// The standard PAC helper functions (after Mozilla's ascii_pac_utils), written in JavaScript.
/// `dnsResolve`, `myIpAddress` and `isResolvable` are provided by Rust.
const HELPERS: &str = r#"
function dnsDomainIs(host, domain) {
  host = String(host).toLowerCase(); domain = String(domain).toLowerCase();
  return host.length >= domain.length && host.substring(host.length - domain.length) == domain;
}
function dnsDomainLevels(host) { return String(host).split('.').length - 1; }
function isPlainHostName(host) { return String(host).indexOf('.') < 0 && String(host).indexOf(':') < 0; }
function localHostOrDomainIs(host, hostdom) {
  host = String(host).toLowerCase(); hostdom = String(hostdom).toLowerCase();
  return host == hostdom || hostdom.lastIndexOf(host + '.', 0) == 0;
}
function convert_addr(ipchars) {
  var bytes = String(ipchars).split('.');
  return ((bytes[0] & 0xff) << 24) | ((bytes[1] & 0xff) << 16) | ((bytes[2] & 0xff) << 8) | (bytes[3] & 0xff);
}
function isInNet(ipaddr, pattern, maskstr) {
  var test = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
  if (!test.test(ipaddr)) { ipaddr = dnsResolve(ipaddr); if (ipaddr == null) return false; }
  if (!test.test(pattern) || !test.test(maskstr)) return false;
  var host = convert_addr(ipaddr), pat = convert_addr(pattern), mask = convert_addr(maskstr);
  return ((host & mask) == (pat & mask));
}
function shExpMatch(url, pattern) {
  pattern = String(pattern).replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp('^' + pattern + '$').test(String(url));
}
var __wdays = {SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6};
var __months = {JAN: 0, FEB: 1, MAR: 2, APR: 3, MAY: 4, JUN: 5, JUL: 6, AUG: 7, SEP: 8, OCT: 9, NOV: 10, DEC: 11};
function weekdayRange() {
  function getDay(weekday) { return (weekday in __wdays) ? __wdays[weekday] : -1; }
  var date = new Date();
  var argc = arguments.length;
  var wday;
  if (argc < 1) return false;
  if (arguments[argc - 1] == 'GMT') { argc--; wday = date.getUTCDay(); } else { wday = date.getDay(); }
  var wd1 = getDay(arguments[0]);
  var wd2 = (argc == 2) ? getDay(arguments[1]) : wd1;
  if (wd1 == -1 || wd2 == -1) return false;
  if (wd1 <= wd2) return (wd1 <= wday && wday <= wd2);
  return (wd2 >= wday || wday >= wd1);
}
function dateRange() {
  function getMonth(name) { return (name in __months) ? __months[name] : -1; }
  var date = new Date();
  var argc = arguments.length;
  if (argc < 1) return false;
  var isGMT = (arguments[argc - 1] == 'GMT');
  if (isGMT) argc--;
  if (argc == 1) {
    var tmp = parseInt(arguments[0]);
    if (isNaN(tmp)) return ((isGMT ? date.getUTCMonth() : date.getMonth()) == getMonth(arguments[0]));
    else if (tmp < 32) return ((isGMT ? date.getUTCDate() : date.getDate()) == tmp);
    else return ((isGMT ? date.getUTCFullYear() : date.getFullYear()) == tmp);
  }
  var year = date.getFullYear();
  var date1, date2;
  date1 = new Date(year, 0, 1, 0, 0, 0);
  date2 = new Date(year, 11, 31, 23, 59, 59);
  var adjustMonth = false;
  for (var i = 0; i < (argc >> 1); i++) {
    var tmp = parseInt(arguments[i]);
    if (isNaN(tmp)) {
      var mon = getMonth(arguments[i]);
      date1.setMonth(mon);
    } else if (tmp < 32) {
      adjustMonth = (argc <= 2);
      date1.setDate(tmp);
    } else {
      date1.setFullYear(tmp);
    }
  }
  for (var i = (argc >> 1); i < argc; i++) {
    var tmp = parseInt(arguments[i]);
    if (isNaN(tmp)) {
      var mon = getMonth(arguments[i]);
      date2.setMonth(mon);
    } else if (tmp < 32) {
      date2.setDate(tmp);
    } else {
      date2.setFullYear(tmp);
    }
  }
  if (adjustMonth) { date1.setMonth(date.getMonth()); date2.setMonth(date.getMonth()); }
  if (isGMT) {
    var tmp = date;
    tmp.setFullYear(date.getUTCFullYear()); tmp.setMonth(date.getUTCMonth()); tmp.setDate(date.getUTCDate());
    tmp.setHours(date.getUTCHours()); tmp.setMinutes(date.getUTCMinutes()); tmp.setSeconds(date.getUTCSeconds());
    date = tmp;
  }
  return (date1 <= date2) ? (date1 <= date) && (date <= date2) : (date2 >= date) || (date >= date1);
}
function timeRange() {
  var argc = arguments.length;
  var date = new Date();
  var isGMT = false;
  if (argc < 1) return false;
  if (arguments[argc - 1] == 'GMT') { isGMT = true; argc--; }
  var hour = isGMT ? date.getUTCHours() : date.getHours();
  var date1, date2;
  date1 = new Date(); date2 = new Date();
  if (argc == 1) return (hour == arguments[0]);
  else if (argc == 2) return ((arguments[0] <= hour) && (hour <= arguments[1]));
  else {
    switch (argc) {
      case 6:
        date1.setSeconds(arguments[2]); date2.setSeconds(arguments[5]);
      case 4:
        var middle = argc >> 1;
        date1.setHours(arguments[0]); date1.setMinutes(arguments[1]);
        date2.setHours(arguments[middle]); date2.setMinutes(arguments[middle + 1]);
        if (middle == 2) { date2.setSeconds(59); }
        break;
      default:
        throw 'timeRange: bad number of arguments';
    }
  }
  if (isGMT) {
    date.setFullYear(date.getUTCFullYear()); date.setMonth(date.getUTCMonth()); date.setDate(date.getUTCDate());
    date.setHours(date.getUTCHours()); date.setMinutes(date.getUTCMinutes()); date.setSeconds(date.getUTCSeconds());
  }
  return (date1 <= date2) ? (date1 <= date) && (date <= date2) : (date2 >= date) || (date >= date1);
}
"#;

/// Evaluates `FindProxyForURL(url, host)` of `script` and returns its result string.
pub fn find_proxy(
    script: &str,
    url: &str,
    host: &str,
    resolver: Arc<dyn Resolver>,
    timeout: Duration,
) -> Result<String, PacError> {
    use rquickjs::{Context, Function, Runtime};
    let rt = Runtime::new().map_err(|e| PacError::Script(e.to_string()))?;
    rt.set_memory_limit(32 * 1024 * 1024);
    rt.set_max_stack_size(1024 * 1024);
    let deadline = Instant::now() + timeout;
    rt.set_interrupt_handler(Some(Box::new(move || Instant::now() > deadline)));
    let ctx = Context::full(&rt).map_err(|e| PacError::Script(e.to_string()))?;
    let r: Result<String, String> = ctx.with(|ctx| {
        let g = ctx.globals();
        let r1 = resolver.clone();
        let dns = Function::new(ctx.clone(), move |h: String| -> Option<String> {
            r1.resolve(&h)
                .map(|ip| ip.to_string())
                .filter(|s| s.parse::<std::net::Ipv4Addr>().is_ok())
        })
        .map_err(|e| e.to_string())?;
        g.set("dnsResolve", dns).map_err(|e| e.to_string())?;
        let r2 = resolver.clone();
        let resolvable = Function::new(ctx.clone(), move |h: String| -> bool {
            r2.resolve(&h).is_some()
        })
        .map_err(|e| e.to_string())?;
        g.set("isResolvable", resolvable)
            .map_err(|e| e.to_string())?;
        let r3 = resolver.clone();
        let myip = Function::new(ctx.clone(), move || -> String {
            match r3.my_ip() {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(_) => "127.0.0.1".to_string(),
            }
        })
        .map_err(|e| e.to_string())?;
        g.set("myIpAddress", myip).map_err(|e| e.to_string())?;
        let describe = |e: rquickjs::Error, ctx: &rquickjs::Ctx| -> String {
            if matches!(e, rquickjs::Error::Exception) {
                let ex = ctx.catch();
                if let Some(ex) = ex.as_exception() {
                    return ex.message().unwrap_or_else(|| "exception".to_string());
                }
                if let Some(s) = ex.as_string() {
                    return s.to_string().unwrap_or_default();
                }
                return "uncaught exception".to_string();
            }
            e.to_string()
        };
        ctx.eval::<(), _>(HELPERS).map_err(|e| describe(e, &ctx))?;
        ctx.eval::<(), _>(script).map_err(|e| describe(e, &ctx))?;
        let f: Function = g
            .get("FindProxyForURL")
            .map_err(|_| "the script defines no FindProxyForURL(url, host) function".to_string())?;
        let v: rquickjs::Value = f
            .call((url.to_string(), host.to_string()))
            .map_err(|e| describe(e, &ctx))?;
        Ok(v.as_string()
            .and_then(|s| s.to_string().ok())
            .unwrap_or_default())
    });
    match r {
        Ok(s) => Ok(s),
        Err(_) if Instant::now() > deadline => Err(PacError::Timeout(timeout)),
        Err(e) => Err(PacError::Script(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::proxy::wpad::FixedResolver;

    fn resolver() -> Arc<dyn Resolver> {
        Arc::new(FixedResolver {
            hosts: [
                (
                    "intranet.contoso.com".to_string(),
                    "10.1.2.3".parse().unwrap(),
                ),
                (
                    "outlook.office365.com".to_string(),
                    "52.97.1.1".parse().unwrap(),
                ),
            ]
            .into_iter()
            .collect(),
            my_ip: "10.1.9.9".parse().unwrap(),
            domain: Some("corp.contoso.com".into()),
        })
    }

    fn eval(script: &str, url: &str) -> Result<String, PacError> {
        let host = url::Url::parse(url)
            .unwrap()
            .host_str()
            .unwrap()
            .to_string();
        find_proxy(script, url, &host, resolver(), PAC_TIMEOUT)
    }

    #[test]
    fn table_of_pac_scripts() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "function FindProxyForURL(u,h){return 'PROXY p.contoso.com:8080; DIRECT';}",
                "https://outlook.office365.com/",
                "PROXY p.contoso.com:8080; DIRECT",
            ),
            (
                "function FindProxyForURL(u,h){ if (shExpMatch(h, '*.office365.com')) return 'PROXY a:1'; return 'DIRECT'; }",
                "https://outlook.office365.com/x",
                "PROXY a:1",
            ),
            (
                "function FindProxyForURL(u,h){ if (shExpMatch(h, '*.office365.com')) return 'PROXY a:1'; return 'DIRECT'; }",
                "https://login.microsoftonline.com/x",
                "DIRECT",
            ),
            (
                "function FindProxyForURL(u,h){ if (shExpMatch(u, 'https://login.*/common/*')) return 'PROXY l:3'; return 'DIRECT'; }",
                "https://login.microsoftonline.com/common/oauth2",
                "PROXY l:3",
            ),
            (
                "function FindProxyForURL(u,h){ if (isInNet(h, '10.0.0.0', '255.0.0.0')) return 'DIRECT'; return 'PROXY p:8080'; }",
                "https://intranet.contoso.com/",
                "DIRECT",
            ),
            (
                "function FindProxyForURL(u,h){ if (isInNet(h, '10.0.0.0', '255.0.0.0')) return 'DIRECT'; return 'PROXY p:8080'; }",
                "https://outlook.office365.com/",
                "PROXY p:8080",
            ),
            (
                "function FindProxyForURL(u,h){ if (isInNet(myIpAddress(), '10.1.0.0', '255.255.0.0')) return 'PROXY office:1'; return 'PROXY home:2'; }",
                "https://outlook.office365.com/",
                "PROXY office:1",
            ),
            (
                "function FindProxyForURL(u,h){ return dnsDomainIs(h, '.contoso.com') ? 'DIRECT' : 'PROXY p:1'; }",
                "https://intranet.contoso.com/",
                "DIRECT",
            ),
            (
                "function FindProxyForURL(u,h){ return isPlainHostName(h) ? 'DIRECT' : 'PROXY p:1'; }",
                "http://intranet/",
                "DIRECT",
            ),
            (
                "function FindProxyForURL(u,h){ return localHostOrDomainIs(h, 'www.contoso.com') ? 'DIRECT' : 'PROXY p:1'; }",
                "http://www/",
                "DIRECT",
            ),
            (
                "function FindProxyForURL(u,h){ return dnsDomainLevels(h) == 2 ? 'PROXY two:2' : 'DIRECT'; }",
                "https://outlook.office365.com/",
                "PROXY two:2",
            ),
            (
                "function FindProxyForURL(u,h){ return isResolvable(h) ? 'DIRECT' : 'PROXY p:1'; }",
                "https://unknown.example/",
                "PROXY p:1",
            ),
            (
                "function FindProxyForURL(u,h){ return dnsResolve(h) == '52.97.1.1' ? 'PROXY r:1' : 'DIRECT'; }",
                "https://outlook.office365.com/",
                "PROXY r:1",
            ),
            (
                "function FindProxyForURL(u,h){ return (convert_addr('10.0.0.1') >>> 0) == 167772161 ? 'PROXY c:1' : 'DIRECT'; }",
                "https://x.example/",
                "PROXY c:1",
            ),
            (
                "function FindProxyForURL(u,h){ return (weekdayRange('SUN','SAT') && timeRange(0,23) && dateRange('JAN','DEC')) ? 'PROXY t:1' : 'DIRECT'; }",
                "https://x.example/",
                "PROXY t:1",
            ),
        ];
        for (script, url, want) in cases {
            assert_eq!(eval(script, url).unwrap(), *want, "{script} for {url}");
        }
    }

    #[test]
    fn endless_loop_times_out() {
        let t = Instant::now();
        let r = find_proxy(
            "function FindProxyForURL(u,h){ while(true){} }",
            "https://a.example/",
            "a.example",
            resolver(),
            Duration::from_millis(200),
        );
        assert_eq!(r, Err(PacError::Timeout(Duration::from_millis(200))));
        assert!(t.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn script_errors_are_reported() {
        assert!(matches!(
            eval("function nope(){}", "https://a.example/"),
            Err(PacError::Script(m)) if m.contains("FindProxyForURL")
        ));
        assert!(matches!(
            eval("function FindProxyForURL(u,h){ throw new Error('boom'); }", "https://a.example/"),
            Err(PacError::Script(m)) if m.contains("boom")
        ));
        // No file or network access: there is no require/import/fetch.
        assert!(
            eval(
                "function FindProxyForURL(u,h){ return typeof fetch + typeof require + typeof std; }",
                "https://a.example/"
            )
            .unwrap()
                == "undefinedundefinedundefined"
        );
    }

    #[test]
    fn results_are_parsed() {
        assert_eq!(
            parse_result("PROXY a:1; SOCKS5 s:1080;DIRECT"),
            vec![
                PacEntry::Proxy("a:1".into()),
                PacEntry::Socks("s:1080".into()),
                PacEntry::Direct
            ]
        );
        assert_eq!(parse_result(""), vec![PacEntry::Direct]);
        assert_eq!(
            parse_result("HTTPS h:443"),
            vec![PacEntry::Https("h:443".into())]
        );
    }
}
