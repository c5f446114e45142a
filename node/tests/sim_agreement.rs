//! The simulator and real nodes run the same node-core, so for the same
//! scenario (a 3-hop chain, one bulk transfer, no loss) they produce the
//! same route and delivery events at every node: times differ, order and
//! bytes do not.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use node::events::EventLog;
use node_core::{
    Address, Class, CommandError, Input, LinkId, Node, Output, PublicKey, RouteHandle, RouteKind,
    Time,
};
use sim::engine::population::Nodes;
use sim::engine::protocol::{Population, Protocol};

const SIZE: u64 = 2 << 20;
const MESSAGE: usize = node::transfer::DEFAULT_CHUNK;

/// A node-core node whose events are logged as meshnode logs them.
struct Recording {
    node: Node,
    log: Arc<Mutex<EventLog>>,
}

impl Protocol for Recording {
    fn handle_input(&mut self, now: Time, input: Input) {
        self.node.handle_input(now, input)
    }
    fn poll_output(&mut self, now: Time) -> Output {
        let out = self.node.poll_output(now);
        if let Output::Event(e) = &out {
            self.log.lock().unwrap().record(e);
        }
        out
    }
    fn send(
        &mut self,
        link: LinkId,
        channel: u16,
        class: Class,
        data: Vec<u8>,
    ) -> Result<(), CommandError> {
        self.node.send(link, channel, class, data)
    }
    fn send_backlog(&self, link: LinkId) -> usize {
        self.node.send_backlog(link).unwrap_or(0)
    }
    fn open_route(
        &mut self,
        path: Vec<Address>,
        class: Class,
        kind: RouteKind,
    ) -> Result<RouteHandle, CommandError> {
        self.node.open_route(path, class, kind)
    }
    fn route_send(&mut self, route: RouteHandle, data: Vec<u8>) -> Result<(), CommandError> {
        self.node.route_send(route, data)
    }
    fn route_has_room(&self, route: RouteHandle, len: usize) -> bool {
        self.node.route_has_room(route, len)
    }
}

struct Recorders {
    nodes: Nodes,
    logs: Vec<Arc<Mutex<EventLog>>>,
}

impl Population for Recorders {
    type Node = Recording;
    fn make(&mut self, index: usize, incarnation: u32) -> Recording {
        Recording {
            node: self.nodes.make(index, incarnation),
            log: Arc::clone(&self.logs[index]),
        }
    }
    fn public_key(&self, index: usize) -> Option<PublicKey> {
        self.nodes.public_key(index)
    }
}

fn simulated() -> Vec<EventLog> {
    let text = format!(
        r#"{{
  "name": "meshnode-agreement",
  "description": "3-hop chain, one bulk transfer, no loss",
  "seed": 5,
  "duration": "20s",
  "protocol": {{ "suite": "real", "mode": "store-and-forward" }},
  "topology": {{ "generator": "chain", "nodes": 4, "link": {{ "bandwidth": "200Mbps", "latency": "1ms" }} }},
  "traffic": [ {{ "from": 0, "to": 3, "kind": "bulk", "size": "{SIZE}B", "message": "{MESSAGE}B", "start": "0.5s" }} ]
}}"#
    );
    let scenario = sim::scenario::parse(&text, std::path::Path::new(".")).expect("scenario parses");
    let n = scenario.network.nodes.len();
    let logs: Vec<_> = (0..n)
        .map(|_| Arc::new(Mutex::new(EventLog::default())))
        .collect();
    let pop = Recorders {
        nodes: Nodes::new(scenario.protocol.clone(), scenario.seed, n),
        logs: logs.clone(),
    };
    let end = Time::ZERO + scenario.duration;
    let mut world = sim::engine::World::new(scenario, pop);
    world.run(end, &mut |_| {});
    logs.iter().map(|l| l.lock().unwrap().clone()).collect()
}

fn real() -> Vec<EventLog> {
    let _turn = serial();
    let c = Chain::start(4, 0.0, None, "");
    let route = c.open_route();
    let out = c.nodes[0].cli(&[
        "send",
        "--route",
        &route.to_string(),
        "--generate",
        &SIZE.to_string(),
        "--chunk",
        &MESSAGE.to_string(),
    ]);
    assert!(
        out.status.success(),
        "send: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        c.logs()
    );
    // The destination's last message precedes the confirmation A waited for.
    let logs = |c: &Chain| -> Vec<EventLog> {
        c.nodes
            .iter()
            .map(|n| serde_json::from_value(n.status()["events"].clone()).unwrap())
            .collect()
    };
    wait_until("D's events", Duration::from_secs(10), || {
        logs(&c)[3].entries.len() >= 2
    });
    logs(&c)
}

#[test]
fn simulator_and_real_nodes_log_the_same_route_events() {
    let sim = simulated();
    let real = real();
    // The scenario did something worth comparing.
    use node::events::RouteEvent::*;
    assert_eq!(sim[3].entries[0], Incoming { route: 1 });
    assert_eq!(
        sim[3].entries[1],
        Messages {
            route: 1,
            count: SIZE / MESSAGE as u64,
            bytes: SIZE
        }
    );
    assert_eq!(sim[0].entries[0], Up { route: 1 });
    assert!(matches!(sim[0].entries[1], Delivered { route: 1, .. }));
    for i in 0..4 {
        assert_eq!(
            real[i], sim[i],
            "node {i}: real (left) and simulated (right) differ"
        );
    }
}
