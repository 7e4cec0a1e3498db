"""Placeholder while this module is being written."""

ACTIVATIONS = {}


def elu(*args, **kwargs):
    raise NotImplementedError

def gelu(*args, **kwargs):
    raise NotImplementedError

def get_activation(*args, **kwargs):
    raise NotImplementedError

def leaky_relu(*args, **kwargs):
    raise NotImplementedError

def linear_threshold(*args, **kwargs):
    raise NotImplementedError

def log_softmax(*args, **kwargs):
    raise NotImplementedError

def maxout(*args, **kwargs):
    raise NotImplementedError

def prelu(*args, **kwargs):
    raise NotImplementedError

def relu(*args, **kwargs):
    raise NotImplementedError

def sigmoid(*args, **kwargs):
    raise NotImplementedError

def softmax(*args, **kwargs):
    raise NotImplementedError

def softplus(*args, **kwargs):
    raise NotImplementedError

def softsign(*args, **kwargs):
    raise NotImplementedError

def step(*args, **kwargs):
    raise NotImplementedError

def tanh(*args, **kwargs):
    raise NotImplementedError
