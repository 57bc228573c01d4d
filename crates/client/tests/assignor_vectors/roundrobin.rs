//! `roundrobin`: Kafka's `RoundRobinAssignor`, equal and unequal subscriptions.

use super::{m, Vector};

pub const VECTORS: &[Vector] = &[
    Vector {
        assignor: "roundrobin",
        partitions: &[("t0", 4), ("t1", 7)],
        members: &[
            m("consumer-0-17f526", None, &["t0", "t1"], &[], -1),
            m("consumer-1-a398da", None, &["t0", "t1"], &[], -1),
            m("consumer-2-e5267b", None, &["t0", "t1"], &[], -1),
            m("consumer-3-17477e", None, &["t0", "t1"], &[], -1),
            m("consumer-4-7738c", None, &["t0", "t1"], &[], -1),
        ],
        expected: &[
            ("consumer-0-17f526", &["t0-0", "t1-1", "t1-6"]),
            ("consumer-1-a398da", &["t0-1", "t1-2"]),
            ("consumer-2-e5267b", &["t0-2", "t1-3"]),
            ("consumer-3-17477e", &["t0-3", "t1-4"]),
            ("consumer-4-7738c", &["t1-0", "t1-5"]),
        ],
    },
    Vector {
        assignor: "roundrobin",
        partitions: &[("t0", 2), ("t1", 5)],
        members: &[
            m("consumer-0-795395", None, &["t0", "t1"], &[], -1),
            m(
                "consumer-1-4e60d7",
                Some("instance-46"),
                &["t0", "t1"],
                &[],
                -1,
            ),
            m("consumer-2-ef6662", Some("instance-35"), &["t0"], &[], -1),
            m("consumer-3-c85938", None, &["t0", "t1"], &[], -1),
        ],
        expected: &[
            ("consumer-0-795395", &["t1-0", "t1-3"]),
            ("consumer-1-4e60d7", &["t0-1", "t1-2"]),
            ("consumer-2-ef6662", &["t0-0"]),
            ("consumer-3-c85938", &["t1-1", "t1-4"]),
        ],
    },
    Vector {
        assignor: "roundrobin",
        partitions: &[("t0", 2), ("t1", 7), ("t2", 8)],
        members: &[
            m("consumer-0-77c449", None, &["t0", "t2"], &[], -1),
            m("consumer-1-740d69", None, &["t0", "t1", "t2"], &[], -1),
            m("consumer-2-bc396", None, &["t0", "t1", "t2"], &[], -1),
            m("consumer-3-116b09", None, &["t0", "t1", "t2"], &[], -1),
            m("consumer-4-898933", None, &["t0", "t1", "t2"], &[], -1),
        ],
        expected: &[
            ("consumer-0-77c449", &["t0-0", "t2-0", "t2-5"]),
            ("consumer-1-740d69", &["t0-1", "t1-3", "t2-1", "t2-6"]),
            ("consumer-2-bc396", &["t1-0", "t1-4", "t2-2", "t2-7"]),
            ("consumer-3-116b09", &["t1-1", "t1-5", "t2-3"]),
            ("consumer-4-898933", &["t1-2", "t1-6", "t2-4"]),
        ],
    },
    Vector {
        assignor: "roundrobin",
        partitions: &[("t0", 3), ("t1", 8)],
        members: &[
            m(
                "consumer-0-17f818",
                Some("instance-22"),
                &["t0", "t1"],
                &[],
                -1,
            ),
            m(
                "consumer-1-23d28c",
                Some("instance-50"),
                &["t0", "t1"],
                &[],
                -1,
            ),
            m("consumer-2-f7910f", None, &["t0", "t1"], &[], -1),
        ],
        expected: &[
            ("consumer-0-17f818", &["t0-0", "t1-0", "t1-3", "t1-6"]),
            ("consumer-1-23d28c", &["t0-1", "t1-1", "t1-4", "t1-7"]),
            ("consumer-2-f7910f", &["t0-2", "t1-2", "t1-5"]),
        ],
    },
    Vector {
        assignor: "roundrobin",
        partitions: &[("t0", 7), ("t1", 6)],
        members: &[
            m("consumer-0-479f9a", None, &["t0"], &[], -1),
            m("consumer-1-561bce", None, &["t0", "t1"], &[], -1),
            m("consumer-2-8800c9", None, &["t0", "t1"], &[], -1),
            m(
                "consumer-3-39a394",
                Some("instance-7"),
                &["t0", "t1"],
                &[],
                -1,
            ),
            m(
                "consumer-4-325134",
                Some("instance-53"),
                &["t0", "t1"],
                &[],
                -1,
            ),
        ],
        expected: &[
            ("consumer-0-479f9a", &["t0-2"]),
            ("consumer-1-561bce", &["t0-3", "t1-0", "t1-4"]),
            ("consumer-2-8800c9", &["t0-4", "t1-1", "t1-5"]),
            ("consumer-3-39a394", &["t0-1", "t0-6", "t1-3"]),
            ("consumer-4-325134", &["t0-0", "t0-5", "t1-2"]),
        ],
    },
    Vector {
        assignor: "roundrobin",
        partitions: &[("t0", 4), ("t1", 1), ("t2", 3)],
        members: &[
            m("consumer-0-432a6", None, &["t0", "t1", "t2"], &[], -1),
            m("consumer-1-312d3f", None, &["t0", "t1", "t2"], &[], -1),
            m(
                "consumer-2-e9974d",
                Some("instance-6"),
                &["t0", "t1", "t2"],
                &[],
                -1,
            ),
        ],
        expected: &[
            ("consumer-0-432a6", &["t0-1", "t1-0", "t2-2"]),
            ("consumer-1-312d3f", &["t0-2", "t2-0"]),
            ("consumer-2-e9974d", &["t0-0", "t0-3", "t2-1"]),
        ],
    },
    Vector {
        assignor: "roundrobin",
        partitions: &[("t0", 2)],
        members: &[
            m("consumer-0-411c55", None, &["t0"], &[], -1),
            m("consumer-1-d85f76", Some("instance-62"), &["t0"], &[], -1),
            m("consumer-2-d44abf", None, &["t0"], &[], -1),
            m("consumer-3-870ac4", None, &["t0"], &[], -1),
            m("consumer-4-25939d", None, &["t0"], &[], -1),
        ],
        expected: &[
            ("consumer-0-411c55", &["t0-1"]),
            ("consumer-1-d85f76", &["t0-0"]),
            ("consumer-2-d44abf", &[]),
            ("consumer-3-870ac4", &[]),
            ("consumer-4-25939d", &[]),
        ],
    },
    Vector {
        assignor: "roundrobin",
        partitions: &[("t0", 3), ("t1", 3), ("t2", 7)],
        members: &[
            m("consumer-0-107a96", None, &["t0", "t1", "t2"], &[], -1),
            m(
                "consumer-1-dc8e88",
                Some("instance-4"),
                &["t0", "t1"],
                &[],
                -1,
            ),
            m("consumer-2-d45c7d", None, &["t0", "t1", "t2"], &[], -1),
            m("consumer-3-680b71", None, &["t0", "t2"], &[], -1),
        ],
        expected: &[
            ("consumer-0-107a96", &["t0-1", "t1-1", "t2-1", "t2-4"]),
            ("consumer-1-dc8e88", &["t0-0", "t1-0"]),
            ("consumer-2-d45c7d", &["t0-2", "t1-2", "t2-2", "t2-5"]),
            ("consumer-3-680b71", &["t2-0", "t2-3", "t2-6"]),
        ],
    },
];
