use super::*;

#[test]
fn requests_round_trip_as_lines() {
    let requests = [
        Request::ShowInterfaces,
        Request::ShowRpf { address: "198.18.0.2".parse().unwrap() },
        Request::ShowMroute { source: None, group: Some("ff3e::1".parse().unwrap()) },
        Request::ShowCounters,
        Request::Status,
        Request::Reload,
    ];
    for request in requests {
        let line = encode_line(&request);
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        assert_eq!(decode_line::<Request>(&line).unwrap(), request);
    }
    assert_eq!(
        encode_line(&Request::ShowRpf { address: "fd00::1".parse().unwrap() }),
        "{\"request\":\"show-rpf\",\"address\":\"fd00::1\"}\n"
    );
}

#[test]
fn mroute_renders_like_a_router() {
    let view = MrouteView {
        entries: vec![MrouteEntryView {
            register: false,
            source: Some("198.18.0.2".parse().unwrap()),
            group: "239.1.1.1".parse().unwrap(),
            flags: "SMT".into(),
            incoming: Some("eth0".into()),
            rpf_neighbor: Some("198.18.0.1".parse().unwrap()),
            rpf_origin: Some("Mroute".into()),
            static_iif: true,
            outgoing: vec![OifView {
                interface: "eth1".into(),
                reasons: vec!["static-flow".into()],
                uptime_secs: 61,
            }],
            installed: true,
            uptime_secs: 3725,
            expires_secs: None,
            packets: 10,
            bytes: 1000,
            wrong_if: 0,
        }],
    };
    let text = view.to_string();
    assert!(text.contains("(198.18.0.2, 239.1.1.1), 01:02:05/never, flags: SMT"), "{text}");
    assert!(text.contains("Incoming interface: eth0, RPF nbr 198.18.0.1, Mroute"), "{text}");
    assert!(text.contains("    eth1, static-flow, 00:01:01"), "{text}");
    let response = Response::Mroute(view);
    assert_eq!(decode_line::<Response>(&encode_line(&response)).unwrap(), response);
    assert_eq!(Response::error("hatod: no such thing").to_string(), "error: hatod: no such thing");
}

#[test]
fn assert_states_render_and_round_trip() {
    let view = PimAssertView {
        states: vec![PimAssertStateView {
            interface: "eth1".into(),
            source: Some("198.18.0.1".parse().unwrap()),
            group: "232.4.4.4".parse().unwrap(),
            state: "loser".into(),
            winner: "198.18.3.5".parse().unwrap(),
            winner_rpt: false,
            winner_preference: 0,
            winner_metric: 1,
            expires_secs: Some(174),
        }],
    };
    let text = view.to_string();
    let row = text.lines().nth(1).unwrap_or_default();
    for column in ["eth1", "198.18.0.1", "232.4.4.4", "loser", "198.18.3.5", "0/0/1", "00:02:54"] {
        assert!(row.contains(column), "{column} in {text}");
    }
    let response = Response::PimAssert(view);
    assert_eq!(decode_line::<Response>(&encode_line(&response)).unwrap(), response);
    let request = encode_line(&Request::ShowPimAssert);
    assert_eq!(request, "{\"request\":\"show-pim-assert\"}\n");
    assert_eq!(decode_line::<Request>(&request).unwrap(), Request::ShowPimAssert);
}

#[test]
fn durations() {
    assert_eq!(format_duration(0), "00:00:00");
    assert_eq!(format_duration(86_400 + 61), "1d00:01:01");
}

#[test]
fn debug_requests_and_views_as_lines() {
    let request = Request::Debug(DebugRequest { subsystems: vec![DebugSubsystem::Igmp], enable: true });
    assert_eq!(encode_line(&request), "{\"request\":\"debug\",\"subsystems\":[\"igmp\"],\"enable\":true}\n");
    assert_eq!(decode_line::<Request>(&encode_line(&request)).unwrap(), request);
    assert_eq!(
        decode_line::<Request>("{\"request\":\"debug\"}").unwrap(),
        Request::Debug(DebugRequest::default())
    );
    let response = Response::Debug(DebugView {
        level: "info".into(),
        output: "stderr".into(),
        enabled: vec![DebugSubsystem::Pim, DebugSubsystem::Netlink],
    });
    assert_eq!(decode_line::<Response>(&encode_line(&response)).unwrap(), response);
    assert_eq!(response.to_string(), "log level info to stderr\ndebugging: pim netlink\n");
}

#[test]
fn debug_subsystem_names_round_trip() {
    for subsystem in DebugSubsystem::ALL {
        assert_eq!(subsystem.name().parse::<DebugSubsystem>(), Ok(subsystem));
        assert_eq!(serde_json::to_string(&subsystem).unwrap(), format!("\"{}\"", subsystem.name()));
    }
    let error = "frobnicator".parse::<DebugSubsystem>().unwrap_err();
    assert!(error.contains("igmp, mld, pim"), "{error}");
}

#[test]
fn groups_render_the_querier_and_its_present_timer() {
    let interface = |is_querier: bool, other_querier_expires_ms: Option<u64>| GmpInterfaceView {
        interface: "eth0".into(),
        address: "198.18.0.2".parse().unwrap(),
        version: "IGMPv3".into(),
        querier: "198.18.0.1".parse().unwrap(),
        is_querier,
        other_querier_expires_ms,
        groups: Vec::new(),
    };
    let view = GroupsView {
        protocol: "IGMP".into(),
        interfaces: vec![interface(false, Some(4_250)), interface(true, None)],
    };
    let text = view.to_string();
    assert!(
        text.contains(
            "IGMP IGMPv3 on eth0: 198.18.0.2 non-querier, querier 198.18.0.1 (present for 4.2 s)\n"
        ),
        "{text}"
    );
    assert!(text.contains("198.18.0.2 querier, querier 198.18.0.1\n"), "{text}");
    // Answers without the timer (older daemons) still decode.
    let json =
        serde_json::to_value(&view).unwrap().to_string().replace(",\"other_querier_expires_ms\":null", "");
    let decoded: GroupsView = serde_json::from_str(&json).unwrap();
    assert_eq!(decoded.interfaces[1], view.interfaces[1]);
}
