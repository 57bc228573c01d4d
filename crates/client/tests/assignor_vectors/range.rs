//! `range`: Kafka's `RangeAssignor`, equal and unequal subscriptions, static members.

use super::{m, Vector};

pub const VECTORS: &[Vector] = &[
    Vector {
        assignor: "range",
        partitions: &[("t0", 3)],
        members: &[
            m("consumer-0-2d6f65", None, &["t0"], &[], -1),
            m("consumer-1-759e2e", None, &["t0"], &[], -1),
        ],
        expected: &[
            ("consumer-0-2d6f65", &["t0-0", "t0-1"]),
            ("consumer-1-759e2e", &["t0-2"]),
        ],
    },
    Vector {
        assignor: "range",
        partitions: &[("t0", 5), ("t1", 4)],
        members: &[
            m("consumer-0-188932", None, &["t0", "t1"], &[], -1),
            m("consumer-1-7d1c9b", None, &["t0", "t1"], &[], -1),
            m("consumer-2-fe2eba", None, &["t0", "t1"], &[], -1),
        ],
        expected: &[
            ("consumer-0-188932", &["t0-0", "t0-1", "t1-0", "t1-1"]),
            ("consumer-1-7d1c9b", &["t0-2", "t0-3", "t1-2"]),
            ("consumer-2-fe2eba", &["t0-4", "t1-3"]),
        ],
    },
    Vector {
        assignor: "range",
        partitions: &[("t0", 5), ("t1", 3)],
        members: &[
            m("consumer-0-f16198", Some("instance-33"), &["t0"], &[], -1),
            m("consumer-1-33919d", None, &["t0", "t1"], &[], -1),
        ],
        expected: &[
            ("consumer-0-f16198", &["t0-0", "t0-1", "t0-2"]),
            (
                "consumer-1-33919d",
                &["t0-3", "t0-4", "t1-0", "t1-1", "t1-2"],
            ),
        ],
    },
    Vector {
        assignor: "range",
        partitions: &[("t0", 2), ("t1", 3), ("t2", 7)],
        members: &[
            m("consumer-0-b52970", None, &["t0", "t1", "t2"], &[], -1),
            m("consumer-1-3ec650", None, &["t0", "t1", "t2"], &[], -1),
            m(
                "consumer-2-c077f9",
                Some("instance-29"),
                &["t0", "t2"],
                &[],
                -1,
            ),
        ],
        expected: &[
            (
                "consumer-0-b52970",
                &["t0-1", "t1-0", "t1-1", "t2-3", "t2-4"],
            ),
            ("consumer-1-3ec650", &["t1-2", "t2-5", "t2-6"]),
            ("consumer-2-c077f9", &["t0-0", "t2-0", "t2-1", "t2-2"]),
        ],
    },
    Vector {
        assignor: "range",
        partitions: &[("t0", 1)],
        members: &[m(
            "consumer-0-cbb67c",
            Some("instance-34"),
            &["t0"],
            &[],
            -1,
        )],
        expected: &[("consumer-0-cbb67c", &["t0-0"])],
    },
    Vector {
        assignor: "range",
        partitions: &[("t0", 4), ("t1", 4)],
        members: &[
            m("consumer-0-1d926d", None, &["t0", "t1"], &[], -1),
            m("consumer-1-bcd454", None, &["t0", "t1"], &[], -1),
            m(
                "consumer-2-475685",
                Some("instance-88"),
                &["t0", "t1"],
                &[],
                -1,
            ),
        ],
        expected: &[
            ("consumer-0-1d926d", &["t0-2", "t1-2"]),
            ("consumer-1-bcd454", &["t0-3", "t1-3"]),
            ("consumer-2-475685", &["t0-0", "t0-1", "t1-0", "t1-1"]),
        ],
    },
    Vector {
        assignor: "range",
        partitions: &[("t0", 3), ("t1", 7)],
        members: &[m("consumer-0-9a69f1", None, &["t0", "t1"], &[], -1)],
        expected: &[(
            "consumer-0-9a69f1",
            &[
                "t0-0", "t0-1", "t0-2", "t1-0", "t1-1", "t1-2", "t1-3", "t1-4", "t1-5", "t1-6",
            ],
        )],
    },
    Vector {
        assignor: "range",
        partitions: &[("t0", 3), ("t1", 8)],
        members: &[
            m("consumer-0-6e4a3d", None, &["t0"], &[], -1),
            m(
                "consumer-1-3895e7",
                Some("instance-82"),
                &["t0", "t1"],
                &[],
                -1,
            ),
            m(
                "consumer-2-cb33b0",
                Some("instance-21"),
                &["t0", "t1"],
                &[],
                -1,
            ),
            m("consumer-3-e583ab", None, &["t0", "t1"], &[], -1),
        ],
        expected: &[
            ("consumer-0-6e4a3d", &["t0-2"]),
            ("consumer-1-3895e7", &["t0-1", "t1-3", "t1-4", "t1-5"]),
            ("consumer-2-cb33b0", &["t0-0", "t1-0", "t1-1", "t1-2"]),
            ("consumer-3-e583ab", &["t1-6", "t1-7"]),
        ],
    },
];
