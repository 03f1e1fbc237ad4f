"""A Python script of the project (tools/jit-profile, bench/programs.py) loaded as a module, so
that tests can call its functions: the scripts are named by path, and some have no .py suffix."""
import importlib.machinery
import importlib.util


def load(path, name):
    loader = importlib.machinery.SourceFileLoader(name, path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module
