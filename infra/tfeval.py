"""Evaluate our own Terraform configuration in Python: no terraform binary, no cloud.

python-hcl2 parses the files; this walks its parse tree and evaluates the expressions that
the processes' environments and the outputs are made of: literals, templates, objects and
tuples, `for` expressions, conditionals, operators, references (var, local, each, path,
module, data and resources, for_each/count instances included) and the functions used
here. Values that only exist after an apply (a service account's email, an instance's
connection name, a function's URL) come from `Computed`, which derives each one the way
Google does from the resource's own arguments; a caller may replace any of them (the
rehearsal points function URLs at local processes).

Evaluation is lazy: only what is asked for is evaluated, so a construct outside this subset
(or an attribute known only after apply that has no rule) raises `Unsupported` naming it,
and only when something needs it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hcl2.api import parses_to_tree
from lark import Token, Tree

Node = Tree[Token]  # a parse tree node of python-hcl2's grammar

# Google's deterministic function URL needs the project number, which no file holds.
PROJECT_NUMBER = "123456789012"


class Unsupported(Exception):
    """An expression this evaluator cannot (or must not) evaluate."""


# --- the parsed configuration ------------------------------------------------------------


@dataclass
class Block:
    type: str
    labels: tuple[str, ...]
    body: Body


@dataclass
class Body:
    attributes: dict[str, Node] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def of_type(self, kind: str, *labels: str) -> list[Block]:
        return [b for b in self.blocks if b.type == kind and b.labels[: len(labels)] == labels]


def _parts(tree: Node) -> list[Any]:
    """Children without line breaks and comments."""
    return [
        c for c in tree.children if not (isinstance(c, Tree) and c.data == "new_line_or_comment")
    ]


def _trees(tree: Node) -> list[Node]:
    return [c for c in _parts(tree) if isinstance(c, Tree)]


def _name(tree: Node) -> str:
    """The text of an identifier, keyword or literal_value node."""
    return str(tree.children[0])


def _label(node: Node) -> str:
    if node.data == "string":
        return "".join(str(p.children[0]) for p in _trees(node))
    return _name(node)


def _body(tree: Node) -> Body:
    body = Body()
    for node in _trees(tree):
        if node.data == "attribute":
            name, expression = _trees(node)
            body.attributes[_name(name)] = expression
        elif node.data == "block":
            heads = [c for c in _trees(node) if c.data != "body"]
            inner = next(c for c in _trees(node) if c.data == "body")
            labels = tuple(_label(h) for h in heads[1:])
            body.blocks.append(Block(_name(heads[0]), labels, _body(inner)))
    return body


def parse(text: str) -> Body:
    return _body(_trees(parses_to_tree(text))[0])


def load_dir(directory: Path) -> Body:
    """Every *.tf file of a directory, as one body (Terraform's view of a module)."""
    merged = Body()
    for path in sorted(directory.glob("*.tf")):
        body = parse(path.read_text(encoding="utf-8"))
        merged.attributes.update(body.attributes)
        merged.blocks.extend(body.blocks)
    return merged


# --- values with lazy attributes -----------------------------------------------------------


class Lazy:
    """A value whose attributes are evaluated on access (a resource, a block, a namespace)."""

    def attr(self, name: str) -> Any:
        raise Unsupported(f"{self!r} has no attribute {name}")


@dataclass(frozen=True)
class Namespace(Lazy):
    """`local`, a resource type, `data.<type>` or `module`: names resolved by a function."""

    label: str
    resolve: Callable[[str], Any]

    def attr(self, name: str) -> Any:
        return self.resolve(name)


@dataclass(frozen=True)
class Evaluated(Lazy):
    """A body evaluated attribute by attribute in a scope (a nested block's content)."""

    label: str
    body: Body
    scope: Scope

    def attr(self, name: str) -> Any:
        if name in self.body.attributes:
            return self.scope.evaluate(self.body.attributes[name])
        blocks = self.body.of_type(name)
        if blocks:
            return [Evaluated(f"{self.label}.{name}", b.body, self.scope) for b in blocks]
        raise Unsupported(f"{self.label} sets no {name}")

    def has(self, name: str) -> bool:
        return name in self.body.attributes or bool(self.body.of_type(name))

    def referent(self, name: str) -> Any:
        """What attribute `name = <x>.<attribute>` reads from: <x> (a resource, usually)."""
        tree = self.body.attributes[name]
        parts = _trees(tree)
        term = parts[0] if tree.data == "expr_term" else tree
        if term.data != "get_attr_expr_term":
            raise Unsupported(f"{self.label}.{name} is not a reference")
        return self.scope.evaluate(_trees(term)[0])


@dataclass(frozen=True)
class Instance(Evaluated):
    """One instance of a resource or data source: arguments as written, the rest computed."""

    rtype: str = ""
    computed: Computed | None = None

    def attr(self, name: str) -> Any:
        rule = self.computed.rule(self.rtype, name) if self.computed else None
        if rule is not None:
            return rule(self)
        if self.has(name):
            return super().attr(name)
        raise Unsupported(f"{self.label}.{name} is known only after apply (no rule for it)")


Rule = Callable[[Instance], Any]


def _function_uri(function: Instance) -> list[dict[str, str]]:
    name, region = function.attr("name"), function.attr("location")
    return [{"uri": f"https://{name}-{PROJECT_NUMBER}.{region}.run.app"}]


def _email(account: Instance) -> str:
    return f"{account.attr('account_id')}@{account.attr('project')}.iam.gserviceaccount.com"


DEFAULT_RULES: dict[tuple[str, str], Rule] = {
    ("google_service_account", "email"): _email,
    ("google_service_account", "member"): lambda r: f"serviceAccount:{_email(r)}",
    ("google_service_account", "id"): lambda r: (
        f"projects/{r.attr('project')}/serviceAccounts/{_email(r)}"
    ),
    ("google_sql_database_instance", "connection_name"): lambda r: (
        f"{r.attr('project')}:{r.attr('region')}:{r.attr('name')}"
    ),
    ("google_cloud_run_v2_job", "id"): lambda r: (
        f"projects/{r.attr('project')}/locations/{r.attr('location')}/jobs/{r.attr('name')}"
    ),
    ("google_cloudfunctions2_function", "service_config"): _function_uri,
    ("google_secret_manager_secret", "id"): lambda r: (
        f"projects/{r.attr('project')}/secrets/{r.attr('secret_id')}"
    ),
    # a version Terraform writes into a new secret is its first
    ("google_secret_manager_secret_version", "version"): lambda r: "1",
    ("google_storage_bucket", "url"): lambda r: f"gs://{r.attr('name')}",
    ("terraform_data", "output"): lambda r: r.attr("input"),
    ("data.google_project", "number"): lambda r: PROJECT_NUMBER,
    # a secret an operator made (no version named: the latest), with its first version
    ("data.google_secret_manager_secret_version", "version"): lambda r: "1",
}


@dataclass(frozen=True)
class Computed:
    """Values known only after apply, derived as Google derives them; replaceable per rule."""

    rules: Mapping[tuple[str, str], Rule] = field(default_factory=lambda: dict(DEFAULT_RULES))

    def rule(self, rtype: str, name: str) -> Rule | None:
        return self.rules.get((rtype, name))

    def replacing(self, rules: Mapping[tuple[str, str], Rule]) -> Computed:
        return Computed({**self.rules, **rules})


# --- expressions ---------------------------------------------------------------------------


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "e" not in text.lower() else value


def to_string(value: Any) -> str:
    """Terraform's conversion of a primitive to a string (env values, templates)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    raise Unsupported(f"{value!r} is not a primitive value")


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    text = text.replace("$${", "${").replace("%%{", "%{")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text)


def _get(value: Any, name: str) -> Any:
    if isinstance(value, Lazy):
        return value.attr(name)
    if isinstance(value, dict):
        if name not in value:
            raise Unsupported(f"no attribute {name} in {sorted(value)}")
        return value[name]
    raise Unsupported(f"cannot read .{name} of {value!r}")


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, list | tuple):
        return value[int(key)]
    if isinstance(value, dict):
        if key not in value:
            raise Unsupported(f"no key {key!r} in {sorted(value)}")
        return value[key]
    return _get(value, str(key))


def _items(collection: Any) -> Iterator[tuple[Any, Any]]:
    """(key, value) pairs as Terraform iterates: maps by key, lists by position."""
    if isinstance(collection, dict):
        yield from sorted(collection.items())
    elif isinstance(collection, list | tuple):
        yield from enumerate(collection)
    else:
        raise Unsupported(f"cannot iterate over {collection!r}")


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "&&": lambda a, b: bool(a) and bool(b),
    "||": lambda a, b: bool(a) or bool(b),
}


@dataclass(frozen=True)
class Scope:
    """The names an expression sees, and the module it belongs to (for files and functions)."""

    names: Mapping[str, Any]
    fallback: Callable[[str], Any] | None = None  # resource types and other root names

    def bind(self, **names: Any) -> Scope:
        return Scope({**self.names, **names}, self.fallback)

    def lookup(self, name: str) -> Any:
        if name in self.names:
            return self.names[name]
        if self.fallback is not None:
            return self.fallback(name)
        raise Unsupported(f"unknown name {name}")

    def evaluate(self, tree: Node) -> Any:
        method = _NODES.get(tree.data)
        if method is None:
            raise Unsupported(f"expression {tree.data} is not supported here")
        return method(self, tree, _trees(tree))

    def _term(self, tree: Node, parts: list[Node]) -> Any:
        return self.evaluate(parts[0])

    def _literal(self, tree: Node, parts: list[Node]) -> Any:
        if tree.data == "literal_value":
            return {"true": True, "false": False, "null": None}[_name(tree)]
        return _number(str(tree.children[0]))

    def _identifier(self, tree: Node, parts: list[Node]) -> Any:
        return self.lookup(_name(tree))

    def _tuple(self, tree: Node, parts: list[Node]) -> Any:
        return [self.evaluate(p) for p in parts]

    def _object(self, tree: Node, parts: list[Node]) -> Any:
        return {self._key(e): self.evaluate(_trees(e)[1]) for e in parts}

    def _attribute(self, tree: Node, parts: list[Node]) -> Any:
        return _get(self.evaluate(parts[0]), _name(_trees(parts[1])[0]))

    def _indexed(self, tree: Node, parts: list[Node]) -> Any:
        index = parts[1]
        if index.data == "short_index":
            return _index(self.evaluate(parts[0]), int(str(index.children[-1])))
        return _index(self.evaluate(parts[0]), self.evaluate(_trees(index)[0]))

    def _conditional(self, tree: Node, parts: list[Node]) -> Any:
        condition, yes, no = parts
        return self.evaluate(yes) if self.evaluate(condition) else self.evaluate(no)

    def _unary(self, tree: Node, parts: list[Node]) -> Any:
        operator, operand = str(tree.children[0]), self.evaluate(parts[0])
        return (not operand) if operator == "!" else -operand

    def _template(self, tree: Node, parts: list[Node]) -> Any:
        pieces: list[Any] = []
        for part in parts:
            child = part.children[0]
            if isinstance(child, Token):
                pieces.append(_unescape(str(child)))
            elif child.data == "interpolation":
                pieces.append(self.evaluate(_trees(child)[0]))
            else:
                raise Unsupported(f"template directive {child.data}")
        if len(pieces) == 1 and len(parts) == 1 and not isinstance(parts[0].children[0], Token):
            return pieces[0]  # "${x}" is x itself, not its string form
        return "".join(to_string(p) for p in pieces)

    def _key(self, element: Node) -> Any:
        key = _trees(_trees(element)[0])[0]
        if key.data == "keyword":
            return _name(key)
        inner = _trees(key)
        if key.data == "expr_term" and len(inner) == 1 and inner[0].data == "identifier":
            return _name(inner[0])  # a bare name is the key itself, not a variable
        return to_string(self.evaluate(key))

    def _binary(self, tree: Node, parts: list[Node]) -> Any:
        left, term = parts[0], parts[1]
        operator_node, right = _trees(term)
        operator = str(operator_node.children[0])
        a = self.evaluate(left)
        if operator == "&&" and not a:
            return False
        if operator == "||" and a:
            return True
        return _OPERATORS[operator](a, self.evaluate(right))

    def _for(self, tree: Node, parts: list[Node]) -> Any:
        if any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in tree.children):
            raise Unsupported("grouping for expressions (...)")
        intro, *rest = _trees(tree)
        names = [_name(n) for n in _trees(intro) if n.data == "identifier"]
        collection = self.evaluate(_trees(intro)[-1])
        condition = rest[-1] if rest and rest[-1].data == "for_cond" else None
        bodies = rest[:-1] if condition is not None else rest
        out_list: list[Any] = []
        out_map: dict[Any, Any] = {}
        for key, value in _items(collection):
            bound = {names[0]: key, names[1]: value} if len(names) == 2 else {names[0]: value}
            scope = self.bind(**bound)
            if condition is not None and not scope.evaluate(_trees(condition)[0]):
                continue
            if tree.data == "for_tuple_expr":
                out_list.append(scope.evaluate(bodies[0]))
            else:
                out_map[to_string(scope.evaluate(bodies[0]))] = scope.evaluate(bodies[1])
        return out_list if tree.data == "for_tuple_expr" else out_map

    def _call(self, tree: Node, parts: list[Node]) -> Any:
        name = _name(parts[0])
        arguments = _trees(parts[1]) if len(parts) > 1 else []
        if name in ("can", "try"):  # their arguments may fail: that is the point
            return self._guarded(name, arguments)
        if name not in FUNCTIONS:
            raise Unsupported(f"function {name}()")
        return FUNCTIONS[name](*(self.evaluate(a) for a in arguments))

    def _guarded(self, name: str, arguments: list[Node]) -> Any:
        for argument in arguments:
            try:
                value = self.evaluate(argument)
            except (Unsupported, LookupError, ValueError, TypeError, re.error):
                continue
            return True if name == "can" else value
        if name == "can":
            return False
        raise Unsupported("try(): no argument evaluated")


_NODES: dict[str, Callable[[Scope, Node, list[Node]], Any]] = {
    "expr_term": Scope._term,
    "int_lit": Scope._literal,
    "float_lit": Scope._literal,
    "literal_value": Scope._literal,
    "identifier": Scope._identifier,
    "string": Scope._template,
    "tuple": Scope._tuple,
    "object": Scope._object,
    "get_attr_expr_term": Scope._attribute,
    "index_expr_term": Scope._indexed,
    "function_call": Scope._call,
    "conditional": Scope._conditional,
    "binary_op": Scope._binary,
    "unary_op": Scope._unary,
    "for_object_expr": Scope._for,
    "for_tuple_expr": Scope._for,
}


def _merge(*maps: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for mapping in maps:
        merged.update(mapping or {})
    return merged


def _coalesce(*values: Any) -> Any:
    return next(v for v in values if v not in (None, ""))


def _regex(pattern: str, text: str) -> Any:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"{pattern!r} does not match {text!r}")
    if match.groupdict():
        return match.groupdict()
    return list(match.groups()) if match.groups() else match[0]


def _filesha256(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise Unsupported(f"filesha256: {path} does not exist (build the bundles first)")
    return hashlib.sha256(file.read_bytes()).hexdigest()


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": _merge,
    "tostring": to_string,
    "tonumber": lambda v: _number(str(v)),
    "tolist": list,
    "tomap": dict,
    "toset": lambda v: sorted(set(v)),
    "join": lambda sep, items: sep.join(to_string(i) for i in items),
    "split": lambda sep, text: text.split(sep),
    "lower": str.lower,
    "upper": str.upper,
    "trimsuffix": lambda text, suffix: text.removesuffix(suffix),
    "trimprefix": lambda text, prefix: text.removeprefix(prefix),
    "startswith": str.startswith,
    "endswith": str.endswith,
    "coalesce": _coalesce,
    "keys": sorted,
    "values": lambda m: [m[k] for k in sorted(m)],
    "lookup": lambda m, k, *default: m.get(k, *default) if default else m[k],
    "length": len,
    "contains": lambda items, value: value in items,
    "concat": lambda *lists: [x for items in lists for x in items],
    "sort": sorted,
    "setproduct": lambda *sets: [list(t) for t in itertools.product(*sets)],
    "setsubtract": lambda a, b: sorted(set(a) - set(b)),
    "setunion": lambda *sets: sorted(set().union(*sets)),
    "alltrue": all,
    "anytrue": any,
    "sum": sum,
    "max": max,
    "min": min,
    "floor": math.floor,
    "ceil": math.ceil,
    "regex": _regex,
    "jsonencode": lambda v: json.dumps(v, separators=(",", ":")),
    "uuid": lambda: str(uuid.uuid4()),
    "filesha256": _filesha256,
}


def _with_optional_defaults(type_expression: Node | None, value: Any) -> Any:
    """`value` as Terraform converts it to an `object({...})` type: an attribute left out
    gets its `optional(type, default)` default (null without one). Other types, and nested
    objects, are left as they are."""
    if type_expression is None or not isinstance(value, dict):
        return value
    call = _trees(type_expression)[0]
    if call.data != "function_call" or _name(_trees(call)[0]) != "object":
        return value
    (fields,) = _trees(_trees(call)[1])
    completed = dict(value)
    for element in _trees(_trees(fields)[0]):
        key = _name(_trees(_trees(_trees(element)[0])[0])[0])
        declared = _trees(_trees(element)[1])[0]
        optional = declared.data == "function_call" and _name(_trees(declared)[0]) == "optional"
        if optional and key not in completed:
            arguments = _trees(_trees(declared)[1])
            completed[key] = Scope({}).evaluate(arguments[1]) if len(arguments) > 1 else None
    return completed


# --- modules -------------------------------------------------------------------------------


def load_tfvars(path: Path) -> dict[str, Any]:
    """A .tfvars file's values (literals only, as Terraform requires)."""
    body = parse(path.read_text(encoding="utf-8"))
    return {name: Scope({}).evaluate(tree) for name, tree in body.attributes.items()}


class Module:
    """One Terraform module (a directory) with its input values, evaluated lazily."""

    def __init__(
        self, directory: Path, inputs: Mapping[str, Any], computed: Computed, root: Path
    ) -> None:
        self.directory = directory
        self.body = load_dir(directory)
        self.computed = computed
        self.root = root
        self._inputs = dict(inputs)
        self._cache: dict[tuple[str, str], Any] = {}
        self.scope = Scope(
            {
                "var": Namespace("var", self.variable),
                "local": Namespace("local", self.local),
                "path": {"module": str(directory), "root": str(root), "cwd": str(root)},
                "data": Namespace("data", lambda t: Namespace(f"data.{t}", self._data(t))),
                "module": Namespace("module", lambda n: Namespace(n, self.child(n).output)),
            },
            fallback=lambda rtype: Namespace(rtype, self._resources(rtype)),
        )

    def _once(self, kind: str, name: str, make: Callable[[], Any]) -> Any:
        key = (kind, name)
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def variable(self, name: str) -> Any:
        blocks = self.body.of_type("variable", name)
        if not blocks:
            raise Unsupported(f"{self.directory.name}: no variable {name}")
        declared = blocks[0].body
        nullable = "nullable" not in declared.attributes or Scope({}).evaluate(
            declared.attributes["nullable"]
        )
        if name in self._inputs and (self._inputs[name] is not None or nullable):
            given = self._inputs[name]  # null for a nullable = false variable is its default
            return _with_optional_defaults(declared.attributes.get("type"), given)
        default = declared.attributes.get("default")
        if default is None:
            raise Unsupported(f"{self.directory.name}: variable {name} has no value")
        return self._once(
            "var",
            name,
            lambda: _with_optional_defaults(
                declared.attributes.get("type"), Scope({}).evaluate(default)
            ),
        )

    def local(self, name: str) -> Any:
        for block in self.body.of_type("locals"):
            tree = block.body.attributes.get(name)
            if tree is not None:
                return self._once("local", name, functools.partial(self.scope.evaluate, tree))
        raise Unsupported(f"{self.directory.name}: no local {name}")

    def output(self, name: str) -> Any:
        blocks = self.body.of_type("output", name)
        if not blocks:
            raise Unsupported(f"{self.directory.name}: no output {name}")
        return self.scope.evaluate(blocks[0].body.attributes["value"])

    def outputs(self) -> dict[str, Any]:
        """Every output that evaluates here, as `terraform output -json` would give it."""
        values = {}
        for block in self.body.of_type("output"):
            try:
                values[block.labels[0]] = plain(self.output(block.labels[0]))
            except Unsupported:
                continue  # known only after apply, or out of this evaluator's reach
        return values

    def child(self, name: str) -> Module:
        def make() -> Module:
            call = self.body.of_type("module", name)[0].body
            arguments = call.attributes.items()
            inputs = {k: self.scope.evaluate(v) for k, v in arguments if k != "source"}
            source = self.scope.evaluate(call.attributes["source"])
            return Module((self.directory / source).resolve(), inputs, self.computed, self.root)

        module: Module = self._once("module", name, make)
        return module

    def resource(self, rtype: str, name: str) -> Any:
        """A resource's value: one Instance, a map of them (for_each) or a list (count)."""
        return self._resources(rtype)(name)

    def _resources(self, rtype: str) -> Callable[[str], Any]:
        return lambda name: self._once(rtype, name, lambda: self._expand(rtype, name, "resource"))

    def _data(self, rtype: str) -> Callable[[str], Any]:
        return lambda name: self._once(
            f"data.{rtype}", name, lambda: self._expand(rtype, name, "data")
        )

    def _expand(self, rtype: str, name: str, kind: str) -> Any:
        blocks = self.body.of_type(kind, rtype, name)
        if not blocks:
            raise Unsupported(f"{self.directory.name}: no {kind} {rtype}.{name}")
        body = blocks[0].body
        label = f"{rtype}.{name}" if kind == "resource" else f"data.{rtype}.{name}"
        rule_type = rtype if kind == "resource" else f"data.{rtype}"

        def instance(scope: Scope, suffix: str = "") -> Instance:
            return Instance(label + suffix, body, scope, rule_type, self.computed)

        if "for_each" in body.attributes:
            each = self.scope.evaluate(body.attributes["for_each"])
            pairs = each.items() if isinstance(each, dict) else ((v, v) for v in each)
            return {
                k: instance(self.scope.bind(each={"key": k, "value": v}), f"[{k!r}]")
                for k, v in pairs
            }
        if "count" in body.attributes:
            count = int(self.scope.evaluate(body.attributes["count"]))
            return [instance(self.scope.bind(count={"index": i}), f"[{i}]") for i in range(count)]
        return instance(self.scope)


def expand_blocks(parent: Evaluated, kind: str) -> list[Evaluated]:
    """Nested blocks `kind` of a resource or block, static ones and `dynamic` ones expanded."""
    label = f"{parent.label}.{kind}"
    found = [Evaluated(label, b.body, parent.scope) for b in parent.body.of_type(kind)]
    for dynamic in parent.body.of_type("dynamic", kind):
        iterator = kind
        if "iterator" in dynamic.body.attributes:
            iterator = _name(_trees(dynamic.body.attributes["iterator"])[0])
        content = dynamic.body.of_type("content")[0].body
        items = parent.scope.evaluate(dynamic.body.attributes["for_each"])
        for key, value in _items(items) if isinstance(items, dict) else enumerate(items):
            scope = parent.scope.bind(**{iterator: {"key": key, "value": value}})
            found.append(Evaluated(label, content, scope))
    return found


def plain(value: Any) -> Any:
    """A value with every lazy part evaluated into dicts and lists (outputs, JSON)."""
    if isinstance(value, Lazy):
        raise Unsupported(f"{value!r} is a whole resource, not a value")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def evaluate_text(expression: str, scope: Scope) -> Any:
    """One expression given as text (tests, tools)."""
    body = parse(f"value = {expression}")
    return scope.evaluate(body.attributes["value"])


__all__: Sequence[str] = (
    "Block",
    "Body",
    "Computed",
    "Evaluated",
    "Instance",
    "Module",
    "Scope",
    "Unsupported",
    "expand_blocks",
    "load_tfvars",
    "plain",
    "to_string",
)
