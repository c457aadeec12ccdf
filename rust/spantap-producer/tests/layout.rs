//! The crate's mirrors against what a C compiler makes of spantap_ring.h: a small C program
//! prints offsetof and sizeof of every field of every shared struct, and each must equal the
//! crate's `offset_of!` / `size_of`. Also checks the generated constants against the same
//! compiler's view of the header's macros.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use spantap_producer::abi::{self, Record, RingHeader, Rule, RuleTable};

const STRUCTS: [(&str, &[&str]); 4] = [
    ("spantap_ring_header", &["magic", "version", "header_size", "slot_count", "slot_size", "snap_length", "rule_capacity", "pad0",
        "producer_index", "mirrored_packets", "mirrored_bytes", "drops_queue_full", "drops_no_frame", "mirror_once_suppressed",
        "drops_rate_limited", "pad1", "consumer_index", "need_wakeup", "reserved1", "drops_no_binding", "pad2"]),
    ("spantap_rule", &["ifindex", "direction", "output_id", "rate", "snap_length", "generation", "vlan_id", "run_length", "max_packets_per_second"]),
    ("spantap_rule_table", &["generation", "rule_count", "flags", "pad", "rules"]),
    ("spantap_record", &["captured_length", "original_length", "ifindex", "output_id", "timestamp_ns", "direction", "reserved"]),
];

const MACROS: [&str; 12] = ["SPANTAP_RING_MAGIC", "SPANTAP_RING_VERSION", "SPANTAP_RING_LINE", "SPANTAP_RULE_CAPACITY", "SPANTAP_RULE_SIZE",
    "SPANTAP_RING_RULES_OFFSET", "SPANTAP_RING_HEADER_SIZE", "SPANTAP_RING_SLOT_ALIGN", "SPANTAP_RULES_RETIRED", "SPANTAP_TABLE_MIRROR_ONCE",
    "SPANTAP_RECORD_SIZE", "SPANTAP_TOKEN"];

/// The probe's findings, compiled and run once for both tests.
fn c_layout() -> &'static BTreeMap<String, u64> {
    static LAYOUT: std::sync::OnceLock<BTreeMap<String, u64>> = std::sync::OnceLock::new();
    LAYOUT.get_or_init(probe)
}

/// Compiles and runs the probe: "struct.field offset", "struct.field.size size", "struct size"
/// and "MACRO value" lines.
fn probe() -> BTreeMap<String, u64> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let include = manifest.join("../../Sources/CSpanTapRing/include");
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let source = directory.join("layout_probe.c");
    let binary = directory.join("layout_probe");
    let mut c = String::from("#include <stddef.h>\n#include <stdio.h>\n#include \"spantap_ring.h\"\nint main(void) {\n");
    for (name, fields) in STRUCTS {
        for field in fields {
            c += &format!(
                "    printf(\"{name}.{field} %zu\\n{name}.{field}.size %zu\\n\", offsetof(struct {name}, {field}), sizeof(((struct {name} *)0)->{field}));\n"
            );
        }
        c += &format!("    printf(\"{name} %zu\\n\", sizeof(struct {name}));\n");
    }
    for name in MACROS {
        c += &format!("    printf(\"{name} %llu\\n\", (unsigned long long)({name}));\n");
    }
    c += "    printf(\"SPANTAP_RECEIVED %d\\nSPANTAP_TRANSMITTED %d\\n\", SPANTAP_RECEIVED, SPANTAP_TRANSMITTED);\n    return 0;\n}\n";
    std::fs::write(&source, c).unwrap();
    let compiled = Command::new("cc").args(["-std=c11", "-Wall", "-Werror", "-I"]).arg(&include).arg("-o").arg(&binary).arg(&source).output()
        .expect("cc (the layout test compiles spantap_ring.h)");
    assert!(compiled.status.success(), "cc failed: {}", String::from_utf8_lossy(&compiled.stderr));
    let output = Command::new(&binary).output().unwrap();
    String::from_utf8(output.stdout).unwrap().lines().map(|line| {
        let (key, value) = line.rsplit_once(' ').unwrap();
        (key.to_string(), value.parse().unwrap())
    }).collect()
}

macro_rules! rust_layout {
    ($map:ident, $c:literal, $t:ty, [$($f:ident),*]) => {
        $(
            $map.insert(concat!($c, ".", stringify!($f)).to_string(), offset_of!($t, $f) as u64);
            $map.insert(concat!($c, ".", stringify!($f), ".size").to_string(), {
                // The size of a field, from a value never made: the type of the field's place.
                fn size_of_field<F>(_: fn(&$t) -> &F) -> usize { size_of::<F>() }
                size_of_field(|s: &$t| &s.$f) as u64
            });
        )*
        $map.insert($c.to_string(), size_of::<$t>() as u64);
    };
}

#[test]
fn every_field_sits_where_the_c_compiler_puts_it() {
    let c = c_layout();
    let mut rust = BTreeMap::new();
    rust_layout!(rust, "spantap_ring_header", RingHeader, [magic, version, header_size, slot_count, slot_size, snap_length, rule_capacity, pad0,
        producer_index, mirrored_packets, mirrored_bytes, drops_queue_full, drops_no_frame, mirror_once_suppressed, drops_rate_limited, pad1,
        consumer_index, need_wakeup, reserved1, drops_no_binding, pad2]);
    rust_layout!(rust, "spantap_rule", Rule, [ifindex, direction, output_id, rate, snap_length, generation, vlan_id, run_length, max_packets_per_second]);
    rust_layout!(rust, "spantap_rule_table", RuleTable, [generation, rule_count, flags, pad, rules]);
    rust_layout!(rust, "spantap_record", Record, [captured_length, original_length, ifindex, output_id, timestamp_ns, direction, reserved]);
    let fields: Vec<&String> = c.keys().filter(|k| k.starts_with("spantap_")).collect();
    assert_eq!(fields.len(), rust.len(), "the probe and the mirrors list the same fields");
    for key in fields {
        assert_eq!(rust.get(key), c.get(key), "{key}: Rust vs C");
    }
}

#[test]
fn the_generated_constants_are_the_headers() {
    let c = c_layout();
    let rust: [(&str, u64); 14] = [
        ("SPANTAP_RING_MAGIC", abi::RING_MAGIC), ("SPANTAP_RING_VERSION", abi::RING_VERSION as u64),
        ("SPANTAP_RING_LINE", abi::RING_LINE as u64), ("SPANTAP_RULE_CAPACITY", abi::RULE_CAPACITY as u64),
        ("SPANTAP_RULE_SIZE", abi::RULE_SIZE as u64), ("SPANTAP_RING_RULES_OFFSET", abi::RULES_OFFSET as u64),
        ("SPANTAP_RING_HEADER_SIZE", abi::HEADER_SIZE as u64), ("SPANTAP_RING_SLOT_ALIGN", abi::SLOT_ALIGN as u64),
        ("SPANTAP_RULES_RETIRED", abi::RULES_RETIRED), ("SPANTAP_TABLE_MIRROR_ONCE", abi::TABLE_MIRROR_ONCE as u64),
        ("SPANTAP_RECORD_SIZE", abi::RECORD_SIZE as u64), ("SPANTAP_TOKEN", abi::TOKEN),
        ("SPANTAP_RECEIVED", abi::RECEIVED as u64), ("SPANTAP_TRANSMITTED", abi::TRANSMITTED as u64),
    ];
    for (name, value) in rust {
        assert_eq!(Some(&value), c.get(name), "{name}");
    }
    assert_eq!(abi::RING_VERSION, 3, "this crate implements ring ABI 3; a new version needs its changes here");
}
