//! The `Host` header (issue 12 item 7): whether it names this server, so that absolute
//! URLs never carry a name a client forged.

use std::net::{IpAddr, SocketAddr};

/// What the `Host` header says about this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HostSeen {
    /// `--public-url` is set, or there is no Host: it is not used.
    NotUsed,
    /// It names this server with its port: absolute URLs may use it as sent.
    Exact,
    /// A loopback name without a port (a hand-written request): served, but absolute
    /// URLs use the address the client reached.
    LoopbackWithoutPort,
    /// Anything else: refused with a 400.
    Refused,
}

/// Whether a `Host` header names this server: its address as the client reached it with
/// the port it listens on, or a loopback name (`localhost`, 127.x.x.x, [::1]) with any port.
pub(super) fn host_names_this_server(host: &str, local: SocketAddr) -> HostSeen {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, "")) => (ip, None),
            Some((ip, after)) => match after.strip_prefix(':') {
                Some(port) => (ip, Some(port)),
                None => return HostSeen::Refused,
            },
            None => return HostSeen::Refused,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let ip = name.parse::<IpAddr>().ok();
    let loopback = name.eq_ignore_ascii_case("localhost") || ip.is_some_and(|ip| ip.is_loopback());
    let ours = loopback || ip.is_some_and(|ip| ip == local.ip() && !ip.is_unspecified());
    let port = port.map(|p| p.parse::<u16>().ok());
    match port.map(|p| p == Some(local.port())) {
        _ if !ours || port == Some(None) => HostSeen::Refused,
        // A gateway, tunnel or port mapping on this host reaches us with its own port;
        // URLs that point at it are the ones its clients can follow, and no remote
        // name gets in this way.
        Some(_) if loopback => HostSeen::Exact,
        Some(true) => HostSeen::Exact,
        None if local.port() == 80 => HostSeen::Exact,
        None if loopback => HostSeen::LoopbackWithoutPort,
        _ => HostSeen::Refused,
    }
}
