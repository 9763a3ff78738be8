//! The client's address: the socket peer, or — only when that peer is a trusted proxy — the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy.

use std::net::{IpAddr, Ipv4Addr};

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
        let Ok(ip) = hop.parse::<IpAddr>() else {
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
    fn trusted_peer_gives_rightmost_untrusted_hop() {
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve(ip("10.0.0.1"), &["6.6.6.6, 5.5.5.5, 10.0.0.2"], &proxies),
            ip("5.5.5.5")
        );
    }

    #[test]
    fn garbled_hop_stops_the_walk() {
        let proxies = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve(ip("10.0.0.1"), &["5.5.5.5, junk"], &proxies),
            ip("10.0.0.1")
        );
    }
}
