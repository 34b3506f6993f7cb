from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated

import pytest

from atomiton.platform import Container, ResolutionError

if TYPE_CHECKING:
    from decimal import Decimal  # only for type checkers: never importable at resolve time


class Config:
    def __init__(self) -> None:
        self.url = "sqlite://"


class Database:
    def __init__(self, config: Config) -> None:
        self.config = config


class Repository:
    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config


class WithDefaults:
    def __init__(self, config: Config, retries: int = 3, label: str = "x") -> None:
        self.config = config
        self.retries = retries
        self.label = label


class Optional_:
    def __init__(self, db: Database | None = None) -> None:
        self.db = db


class NeedsEvents:
    def __init__(self, bus: Annotated[object, "events"]) -> None:
        self.bus = bus


class KeywordOnly:
    def __init__(self, *, config: Config, db: Database) -> None:
        self.config = config
        self.db = db


def test_nothing_is_constructed_until_first_resolve() -> None:
    built: list[str] = []

    def make_config() -> Config:
        built.append("config")
        return Config()

    container = Container()
    container.singleton(Config, make_config)
    container.transient(Database)
    assert built == []
    container.resolve(Database)
    assert built == ["config"]


def test_singleton_is_shared_and_transient_is_new_each_time() -> None:
    container = Container()
    container.singleton(Config)
    container.transient(Database)
    assert container.resolve(Config) is container[Config]
    first, second = container[Database], container[Database]
    assert first is not second
    assert first.config is second.config is container[Config]


def test_constructor_parameters_are_autowired_from_annotations() -> None:
    container = Container()
    container.singleton(Config)
    container.singleton(Database)
    container.transient(Repository)
    repo = container[Repository]
    assert repo.db is container[Database]
    assert repo.config is container[Config]


def test_keyword_only_parameters_are_autowired() -> None:
    container = Container()
    container.singleton(Config)
    container.singleton(Database)
    container.transient(KeywordOnly)
    assert container[KeywordOnly].db.config is container[Config]


def test_defaults_are_honoured_for_unregistered_parameters() -> None:
    container = Container()
    container.singleton(Config)
    container.transient(WithDefaults)
    service = container[WithDefaults]
    assert (service.retries, service.label) == (3, "x")


def test_registered_type_overrides_a_default() -> None:
    container = Container()
    container.singleton(Config)
    container.singleton(Database)
    container.transient(Optional_)
    assert container[Optional_].db is container[Database]
    other = Container()
    other.transient(Optional_)
    assert other[Optional_].db is None


def test_factory_functions_are_autowired_too() -> None:
    def make_database(config: Config) -> Database:
        return Database(config)

    container = Container()
    container.singleton(Config)
    container.singleton(Database, make_database)
    assert container[Database].config is container[Config]


def test_string_keys_and_annotated_string_dependencies() -> None:
    bus = object()
    container = Container()
    container.instance("events", bus)
    container.transient(NeedsEvents)
    assert container["events"] is bus
    assert container[NeedsEvents].bus is bus


def test_string_key_needs_a_factory() -> None:
    with pytest.raises(TypeError, match="'storage' needs a factory"):
        Container().singleton("storage")


def test_keys_must_be_types_or_strings() -> None:
    with pytest.raises(TypeError, match="must be a type or a string"):
        Container().singleton(42)  # type: ignore[arg-type]


def test_instance_is_returned_as_is() -> None:
    config = Config()
    container = Container()
    container.instance(Config, config)
    container.transient(Database)
    assert container[Config] is config
    assert container[Database].config is config


def test_has_reports_registrations() -> None:
    container = Container()
    container.singleton(Config)
    assert container.has(Config)
    assert not container.has(Database)
    assert not container.has("events")


def test_reregistering_replaces_the_recipe() -> None:
    container = Container()
    container.singleton(Config)
    first = container[Config]
    container.singleton(Config)
    assert container[Config] is not first


def test_missing_registration_names_the_type_and_the_chain() -> None:
    container = Container()
    container.transient(Repository)
    container.transient(Database)
    with pytest.raises(ResolutionError) as info:
        container.resolve(Repository)
    message = str(info.value)
    assert "parameter 'config'" in message
    assert "Repository -> Config" in message or "Repository -> Database -> Config" in message
    assert info.value.key is Config


def test_missing_top_level_key_says_how_to_register() -> None:
    with pytest.raises(ResolutionError, match=r"nothing is registered for Config.*singleton"):
        Container().resolve(Config)


def test_unannotated_parameter_without_default_is_an_error_naming_it() -> None:
    def factory(thing):  # type: ignore[no-untyped-def]
        return thing

    container = Container()
    container.singleton("thing", factory)
    with pytest.raises(ResolutionError, match=r"parameter 'thing'.*no type annotation"):
        container.resolve("thing")


def test_a_factory_returning_a_callable_instance_is_fine() -> None:
    container = Container()
    container.singleton("clock", lambda: lambda: 1.0)
    assert container["clock"]() == 1.0


def test_transient_dependencies_stay_fresh_on_every_resolve() -> None:
    container = Container()
    container.transient(Config)
    container.transient(Database)
    seen = {id(container[Database].config) for _ in range(5)}
    kept = [container[Database] for _ in range(5)]
    assert len({id(db.config) for db in kept}) == 5
    assert seen


def test_transient_sees_a_singleton_rebuilt_after_close() -> None:
    container = Container()
    container.singleton(Config)
    container.transient(Database)
    before = container[Database].config
    container.close()
    after = container[Database].config
    assert after is not before
    assert after is container[Config]


class QuotedDependency:
    def __init__(self, config: "Config") -> None:  # noqa: UP037 - the quotes are the point
        self.config = config


def test_quoted_annotations_under_postponed_evaluation_still_autowire() -> None:
    container = Container()
    container.singleton(Config)
    container.transient(QuotedDependency)
    assert container[QuotedDependency].config is container[Config]


def test_an_unevaluable_return_annotation_does_not_stop_autowiring() -> None:
    # Only the parameters are wired; a return type imported under TYPE_CHECKING (or local to
    # a function) must not make the factory unreadable.
    class Local:
        pass

    def make_local() -> Local:
        return Local()

    def make_price(config: Config) -> Decimal:
        return config  # type: ignore[return-value]

    container = Container()
    container.singleton(Config)
    container.singleton("local", make_local)
    container.singleton("price", make_price)
    container.validate()
    assert isinstance(container["local"], Local)
    assert container["price"] is container[Config]


def make_pair(
    config: Config, db: Database, label: str = "pair"
) -> tuple[Config, Database, str] | Decimal:
    return config, db, label


def test_partial_factories_are_autowired_from_the_wrapped_function() -> None:
    # The return annotation cannot be evaluated, so each parameter's is, in make_pair's module.
    container = Container()
    container.singleton(Config)
    container.singleton(Database)
    container.transient("pair", functools.partial(make_pair, label="partial"))
    assert container["pair"] == (container[Config], container[Database], "partial")
