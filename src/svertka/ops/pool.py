"""Placeholder while this module is being written."""


def avg_pool2d(*args, **kwargs):
    raise NotImplementedError

def global_avg_pool2d(*args, **kwargs):
    raise NotImplementedError

def global_max_pool2d(*args, **kwargs):
    raise NotImplementedError

def max_pool2d(*args, **kwargs):
    raise NotImplementedError

def min_pool2d(*args, **kwargs):
    raise NotImplementedError

def sum_pool2d(*args, **kwargs):
    raise NotImplementedError
