//! The client's address: the socket peer, or — only when that peer is a trusted proxy — the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy. An entry may carry a
//! port (`203.0.113.5:4711`, `[2001:db8::5]:4711`); only its address counts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use actix_web::HttpRequest;
use ipnet::IpNet;

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

pub fn resolve(peer: IpAddr, forwarded_for: &[&str], proxies: &[IpNet]) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted(client, proxies) {
        return client;
    }
    let hops = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        let Some(ip) = hop_address(hop) else {
            // A garbled hop means we cannot trust anything left of it.
            return client;
        };
        client = canonical(ip);
        if !trusted(client, proxies) {
            return client;
        }
    }
    client
}

/// The address of one `X-Forwarded-For` entry: a bare IPv4 or IPv6 address, either with a
/// port (`a.b.c.d:port`, `[v6]:port`), or a bracketed IPv6 address without one.
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = hop.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

/// What per-address limits count by: the address itself for IPv4, its /64 for IPv6 (one
/// subscriber is routinely handed a whole /64, so single IPv6 addresses are free to vary).
pub fn limit_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        v4 => v4.to_string(),
    }
}

pub fn client_ip(req: &HttpRequest, proxies: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let headers: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    resolve(peer, &headers, proxies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peer_ignores_forwarded_for() {
        assert_eq!(resolve(ip("1.2.3.4"), &["9.9.9.9"], &[]), ip("1.2.3.4"));
    }

    #[test]
    fn behind_a_trusted_peer_the_rightmost_untrusted_hop_is_the_client() {
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        for (forwarded, client) in [
            ("6.6.6.6, 5.5.5.5, 10.0.0.2", "5.5.5.5"),
            // A hop that is no address stops the walk at the peer.
            ("5.5.5.5, junk", "10.0.0.1"),
            // Hops with ports count by their address.
            ("203.0.113.5:4711, 10.0.0.2:80", "203.0.113.5"),
            ("[2001:db8::5]:4711", "2001:db8::5"),
            ("[2001:db8::6]", "2001:db8::6"),
            ("2001:db8::7", "2001:db8::7"),
            // A trusted proxy with a port is still skipped.
            ("198.51.100.9, 10.0.0.3:8080", "198.51.100.9"),
        ] {
            let seen = resolve(ip("10.0.0.1"), &[forwarded], &proxies);
            assert_eq!(seen, ip(client), "{forwarded}");
        }
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(limit_key(ip("2001:db8:1:2:ffff::9")), "2001:db8:1:2::/64");
        assert_ne!(
            limit_key(ip("2001:db8:1:3::1")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(limit_key(ip("203.0.113.5")), "203.0.113.5");
        assert_eq!(limit_key(ip("::ffff:203.0.113.5")), "203.0.113.5");
    }
}
