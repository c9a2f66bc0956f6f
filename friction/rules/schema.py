"""The payment body's JSON schema as protobuf message types, so that CEL can check rules.

CEL's type checker knows the fields of protobuf messages, not of JSON maps: declaring
``payment`` as a message is what lets a rule that reads ``payment.amonut.value`` be refused
when it is saved, with the line and column, and what makes ``has(payment.device.ip)``
mean "the gateway sent it". The messages are derived here from the JSON schema that the
body's own pydantic model publishes (``Payment.model_json_schema()``), so a field added to
the body is visible to rules without a second definition to keep in step.

Scalars become proto3 ``optional`` fields (presence is tracked, so ``has()`` works on them
too); ``integer`` is int64, ``number`` double, every string (dates, IPs, enums) a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from friction.errors import FrictionError

PACKAGE = "friction.rules"
_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING,
    "integer": _F.TYPE_INT64,
    "number": _F.TYPE_DOUBLE,
    "boolean": _F.TYPE_BOOL,
}


@dataclass(frozen=True, slots=True)
class MessageTypes:
    """The compiled messages: the pool CEL checks against and a class per root variable."""

    pool: descriptor_pool.DescriptorPool
    classes: Mapping[str, type[Message]]
    """Root variable (``payment``, ``features``) → its message class."""
    paths: Mapping[str, str]
    """Full message name → the dotted path it was first seen at, for error messages."""
    kept: tuple[type[Message], ...] = ()
    """Every message class of the file, held: protobuf's upb runtime caches a nested
    message's class weakly, so without a reference it would build the class again (and
    leave a cycle for the garbage collector) each time a payment fills that field."""

    def type_name(self, root: str) -> str:
        """The full protobuf name of a root variable's message."""
        return str(self.classes[root].DESCRIPTOR.full_name)


def build_types(roots: Mapping[str, Mapping[str, Any]], file_name: str) -> MessageTypes:
    """Messages for each root (name → its JSON schema), in one new descriptor pool."""
    builder = _Builder(
        descriptor_pb2.FileDescriptorProto(name=file_name, package=PACKAGE, syntax="proto3")
    )
    names = {
        root: builder.message(schema, schema, root, _camel(root)) for root, schema in roots.items()
    }
    pool = descriptor_pool.DescriptorPool()
    pool.Add(builder.file)
    classes = {
        root: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
        for root, name in names.items()
    }
    kept = tuple(
        message_factory.GetMessageClass(pool.FindMessageTypeByName(n)) for n in builder.paths
    )
    return MessageTypes(pool, classes, builder.paths, kept)


def flat_schema(names: tuple[str, ...]) -> dict[str, Any]:
    """The JSON schema of an object of ``number`` fields (the named online features)."""
    return {"type": "object", "properties": {name: {"type": "number"} for name in names}}


class _Builder:
    """Walks a JSON schema, adding one message per object (``$defs`` are shared)."""

    def __init__(self, file: descriptor_pb2.FileDescriptorProto) -> None:
        self.file = file
        self.paths: dict[str, str] = {}
        self._done: dict[str, str] = {}

    def message(
        self, schema: Mapping[str, Any], root: Mapping[str, Any], path: str, name: str
    ) -> str:
        """Add the message of an object schema (once per name); its short name."""
        if name in self._done:
            return name
        self._done[name] = name
        self.paths[f"{PACKAGE}.{name}"] = path
        message = self.file.message_type.add(name=name)
        for number, (field_name, spec) in enumerate(schema.get("properties", {}).items(), 1):
            self._field(message, number, field_name, spec, root, f"{path}.{field_name}")
        return name

    def _field(
        self,
        message: descriptor_pb2.DescriptorProto,
        number: int,
        name: str,
        spec: Mapping[str, Any],
        root: Mapping[str, Any],
        path: str,
    ) -> None:
        spec = _without_null(spec)
        repeated = spec.get("type") == "array"
        if repeated:
            spec = _without_null(spec.get("items", {}))
        field = message.field.add(name=name, number=number)
        field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
        if "$ref" in spec or spec.get("type") == "object":
            ref = spec.get("$ref", "")
            target = _resolve(root, ref) if ref else spec
            type_name = ref.rsplit("/", 1)[-1] if ref else _camel(path.replace(".", "_"))
            field.type = _F.TYPE_MESSAGE
            field.type_name = f".{PACKAGE}.{self.message(target, root, path, type_name)}"
            return
        kind = spec.get("type", "string" if "enum" in spec or "const" in spec else None)
        if kind not in _SCALARS:
            raise FrictionError(
                f"rules cannot read {path}: its JSON schema type {kind!r} is not supported"
            )
        field.type = _SCALARS[kind]
        if not repeated:  # proto3 optional: presence tracked through a synthetic oneof
            field.proto3_optional = True
            message.oneof_decl.add(name=f"_{name}")
            field.oneof_index = len(message.oneof_decl) - 1


def _without_null(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """``X | None`` (an ``anyOf`` with ``null``) is ``X``: absence is presence's business."""
    options = [o for o in spec.get("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        return {**{k: v for k, v in spec.items() if k != "anyOf"}, **options[0]}
    if options:
        raise FrictionError(f"rules cannot read a union of {len(options)} types: {spec}")
    return spec


def _resolve(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    """A local ``#/$defs/Name`` reference."""
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))
