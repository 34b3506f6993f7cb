"""Jotai's atom utilities and ``store.watch``, built on the store's public API only.

One module per utility: ``_family`` (atom_family), ``_storage_atom`` (atom_with_storage),
``_reset`` (RESET, atom_with_reset, atom_with_default), ``_reducer``, ``_refresh``, ``_select``,
``_split``, ``_loadable`` (loadable, unwrap) and ``_watch`` (the ``async for`` behind
``Store.watch``). The package face re-exports them lazily.
"""
