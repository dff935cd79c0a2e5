"""Close a top-level X11 window the way a window manager does when the user clicks its close button:
a WM_DELETE_WINDOW client message (ICCCM). ctypes + libX11 only, so the test needs no extra package."""
from __future__ import annotations

import ctypes
import ctypes.util
from ctypes import POINTER, byref, c_char_p, c_int, c_long, c_uint, c_ulong, c_void_p

CLIENT_MESSAGE = 33
NO_EVENT_MASK = 0


class _ClientMessage(ctypes.Structure):
    _fields_ = [('type', c_int), ('serial', c_ulong), ('send_event', c_int), ('display', c_void_p),
                ('window', c_ulong), ('message_type', c_ulong), ('format', c_int), ('data', c_long * 5)]


class _Event(ctypes.Union):
    _fields_ = [('xclient', _ClientMessage), ('pad', c_long * 24)]


def _xlib() -> ctypes.CDLL:
    name = ctypes.util.find_library('X11') or 'libX11.so.6'
    x = ctypes.CDLL(name)
    x.XOpenDisplay.restype = c_void_p
    x.XOpenDisplay.argtypes = [c_char_p]
    x.XDefaultRootWindow.restype = c_ulong
    x.XDefaultRootWindow.argtypes = [c_void_p]
    x.XQueryTree.argtypes = [c_void_p, c_ulong, POINTER(c_ulong), POINTER(c_ulong), POINTER(POINTER(c_ulong)),
                             POINTER(c_uint)]
    x.XFetchName.argtypes = [c_void_p, c_ulong, POINTER(c_char_p)]
    x.XInternAtom.restype = c_ulong
    x.XInternAtom.argtypes = [c_void_p, c_char_p, c_int]
    x.XSendEvent.argtypes = [c_void_p, c_ulong, c_int, c_long, POINTER(_Event)]
    x.XFlush.argtypes = [c_void_p]
    x.XFree.argtypes = [c_void_p]
    x.XCloseDisplay.argtypes = [c_void_p]
    return x


def _windows_named(x: ctypes.CDLL, display: int, window: int, title: str) -> list[int]:
    found = []
    name = c_char_p()
    if x.XFetchName(display, window, byref(name)) and name.value is not None:
        if name.value.decode(errors='replace') == title:
            found.append(window)
        x.XFree(name)
    root, parent, children, count = c_ulong(), c_ulong(), POINTER(c_ulong)(), c_uint()
    if x.XQueryTree(display, window, byref(root), byref(parent), byref(children), byref(count)):
        kids = [children[i] for i in range(count.value)]
        if children:
            x.XFree(children)
        for kid in kids:
            found += _windows_named(x, display, kid, title)
    return found


def close_window(display_name: str, title: str) -> int:
    """Send WM_DELETE_WINDOW to every window titled `title` on `display_name`; returns how many got it."""
    x = _xlib()
    display = x.XOpenDisplay(display_name.encode())
    if not display:
        raise RuntimeError(f'cannot open X display {display_name}')
    try:
        targets = _windows_named(x, display, x.XDefaultRootWindow(display), title)
        for window in targets:
            event = _Event()
            event.xclient.type = CLIENT_MESSAGE
            event.xclient.window = window
            event.xclient.message_type = x.XInternAtom(display, b'WM_PROTOCOLS', 0)
            event.xclient.format = 32
            event.xclient.data[0] = x.XInternAtom(display, b'WM_DELETE_WINDOW', 0)
            x.XSendEvent(display, window, 0, NO_EVENT_MASK, byref(event))
        x.XFlush(display)
        return len(targets)
    finally:
        x.XCloseDisplay(display)
