//! What the client does next with a system proxy setting: the proxy URLs parse (or are refused),
//! the exception list is matched against typical targets.
use exo_connect::engine::proxy::SystemProxy;
use exo_connect::engine::proxy::bypass_matches;

pub fn use_system_proxy(p: &SystemProxy) {
    if let SystemProxy::Manual {
        https,
        http,
        bypass,
    } = p
    {
        for u in [https, http].into_iter().flatten() {
            let _ = url::Url::parse(u);
        }
        for host in ["outlook.office365.com", "intranet", "10.1.2.3", "[::1]"] {
            let _ = bypass_matches(bypass, host, Some(443));
        }
    }
}
