//! Kurtosis type constructors (`ServiceConfig`, `PortSpec`, `Directory`, recipes, ...):
//! Kurtosis's argument names, positions and validation rules. Each returns a [`KValue`]
//! holding only the fields that were set; conversion to IR happens where the value is
//! used (`convert`).
//!
//! The constructors are one table, `kurtosis_types!`: each entry names its arguments
//! in Kurtosis's order and how each is checked, and the macro writes the plumbing every
//! constructor shares (copy each argument, check it, take `description`, report every
//! failure at once, record the call site). Checks longer than one [`Args`] method live
//! in [`super::type_checks`]. An argument is checked right after it is read, so a
//! call's failures are listed in argument order; a check that needs several arguments
//! sits on the last of them (or in `then`, after `description`).

#![allow(
    clippy::too_many_arguments,
    reason = "constructor argument lists mirror Kurtosis signatures"
)]

use super::check::Args;
use super::instruction::to_span;
use super::type_checks as checks;
use super::value::{KValue, Owned};
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::Value;

fn make(
    type_name: &'static str,
    eval: &Evaluator,
    fields: Vec<(&'static str, Option<Owned>)>,
) -> KValue {
    KValue {
        type_name,
        fields: fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
        at: Some(to_span(eval.call_stack_top_location().as_ref())),
    }
}

/// `description`: a non-empty string, accepted by every builtin.
fn description_arg(a: &mut Args, v: Option<Value>) -> Option<Owned> {
    let d = a.owned("description", v);
    a.non_empty_string("description", &d);
    d
}

/// Reads argument `$f`: `None` and a missing argument are the same unless the
/// argument is `keep_none` (`PortSpec(wait=None)` turns the port check off).
macro_rules! own {
    ($a:ident, $f:ident) => {
        $a.owned(stringify!($f), $f)
    };
    ($a:ident, $f:ident, required) => {{
        let v = $a.owned(stringify!($f), $f);
        $a.required(stringify!($f), v)
    }};
    ($a:ident, $f:ident, keep_none) => {
        $a.owned_keep_none(stringify!($f), $f)
    };
}

/// The constructor table. An entry is `Type |a| { arg [mode]: method(extra) => { check },
/// ... } then { check };` where every part after `arg` is optional: `mode` is
/// `required` or `keep_none`, `method(extra)` a check of [`Args`] called as
/// `a.method("arg", &arg, extra)`, `{ check }` any further check, run in that order.
macro_rules! kurtosis_types {
    ($(
        $T:ident |$a:ident| {
            $( $f:ident $([$mode:ident])? $(: $m:ident $(($($x:tt)*))?)? $(=> { $($check:tt)* })? ),* $(,)?
        } $(then { $($then:tt)* })?;
    )*) => {
        #[allow(non_snake_case, reason = "the constructors have Kurtosis's names, as `PortSpec`")]
        #[starlark_module]
        pub fn kurtosis_types(builder: &mut GlobalsBuilder) {
            $(
                fn $T<'v>(
                    $($f: Option<Value<'v>>,)*
                    description: Option<Value<'v>>,
                    eval: &mut Evaluator<'v, '_, '_>,
                ) -> starlark::Result<KValue> {
                    let mut $a = Args::for_type(stringify!($T));
                    $(
                        let $f = own!($a, $f $(, $mode)?);
                        $( $a.$m(stringify!($f), &$f $(, $($x)*)?); )?
                        $( $($check)* )?
                    )*
                    let description = description_arg(&mut $a, description);
                    $( $($then)* )?
                    $a.finish()?;
                    Ok(make(
                        stringify!($T),
                        eval,
                        vec![$((stringify!($f), $f),)* ("description", description)],
                    ))
                }
            )*
        }
    };
}

kurtosis_types! {
    PortSpec |a| {
        number,
        transport_protocol,
        application_protocol,
        wait [keep_none],
        url,
    } then {
        checks::check_port_spec(&mut a, &number, &transport_protocol, &application_protocol, &wait, &url);
    };

    ServiceConfig |a| {
        image [required] => { checks::image(&mut a, &image); },
        ports,
        public_ports => { checks::port_specs(&mut a, &ports, &public_ports); },
        files => { checks::mounts(&mut a, &files); },
        entrypoint: string_list,
        cmd: string_list,
        env_vars: string_dict,
        private_ip_address_placeholder: non_empty_string,
        cpu_allocation: int_min(0),
        memory_allocation => { checks::memory(&mut a, "memory_allocation", &memory_allocation); },
        max_cpu: int_min(0),
        min_cpu: int_min(0),
        max_memory => { checks::memory(&mut a, "max_memory", &max_memory); },
        min_memory: int_min(0),
        ready_conditions: ktype(&["ReadyCondition"]),
        labels => { checks::labels(&mut a, &labels); },
        user: ktype(&["User"]),
        tolerations => { checks::tolerations(&mut a, &tolerations); },
        node_selectors: string_dict,
        files_to_be_moved: string_dict,
        tini_enabled: boolean,
        tty_enabled: boolean,
        devices: string_list,
        publish_udp: boolean,
        capabilities: string_list,
        gpu: ktype(&["GpuConfig"]),
        privileged: boolean,
        host_pid_namespace: boolean,
        bind_mounts => { checks::bind_mounts(&mut a, &bind_mounts); },
    };

    Directory |a| {
        artifact_names => { checks::artifact_names(&mut a, &artifact_names); },
        persistent_key: non_empty_string => {
            checks::one_kind_of_directory(&mut a, &artifact_names, &persistent_key);
        },
        size: int_min(1),
    };

    ReadyCondition |a| {
        recipe [required]: ktype(checks::RECIPES),
        field [required]: non_empty_string,
        assertion [required],
        target_value [required] => {
            checks::check_assertion(&mut a, &assertion, &target_value);
        },
        interval: duration,
        timeout: duration,
    };

    ExecRecipe |a| {
        command [required] => { checks::command(&mut a, &command); },
        extract: string_dict,
    };

    GetHttpRequestRecipe |a| {
        port_id [required]: non_empty_string,
        endpoint [required]: string,
        extract: string_dict,
        headers: string_dict,
    };

    PostHttpRequestRecipe |a| {
        port_id [required]: non_empty_string,
        endpoint [required]: string,
        body: string,
        content_type: string,
        extract: string_dict,
        headers: string_dict,
    };

    StoreSpec |a| {
        src [required]: non_empty_string,
        name: non_empty_string,
    };

    User |a| {
        uid [required]: int_min(0),
        gid: int_min(0),
    };

    Toleration |a| {
        key: string,
        operator => { checks::operator(&mut a, &operator); },
        value: string,
        effect => { checks::effect(&mut a, &effect); },
        toleration_seconds: int => {
            checks::toleration_operands(&mut a, &key, &operator, &value);
        },
    };

    GpuConfig |a| {
        count: int_min(-1),
        device_ids => { checks::device_ids(&mut a, &count, &device_ids); },
        shm_size: int_min(0),
        ulimits => { checks::ulimits(&mut a, &ulimits); },
        driver => { checks::gpu_driver(&mut a, &driver); },
    };

    ImageSpec |a| {
        image [required]: non_empty_string,
        registry: non_empty_string,
        username: non_empty_string,
        password: non_empty_string,
    };

    ImageBuildSpec |a| {
        image_name [required]: non_empty_string,
        build_context_dir [required]: non_empty_string,
        build_file: non_empty_string,
        target_stage: string,
        build_args: string_dict,
    };

    NixBuildSpec |a| {
        flake_location_dir [required]: non_empty_string,
        build_context_dir [required]: non_empty_string,
        image_name [required]: non_empty_string,
        flake_output: string,
    };

    Service |a| {
        name [required]: non_empty_string,
        hostname [required]: string,
        ip_address [required]: string,
        ports [required]: dict,
    };
}
