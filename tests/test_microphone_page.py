"""The Microphone select and the level meters under NiceGUI's user simulation (no JavaScript runs): the browser's
device list is fed with `.trigger()`, and what the page hands the browser is read from the component's props."""
from hypothesis import HealthCheck, given, settings, strategies as st
from nicegui import ui
from nicegui.testing import User

from voice_ui.microphone_view import DEFAULT_LABEL, STORAGE_KEY
from voice_ui.protocol import UiEvent
from voice_ui.input_devices import MAX_DEVICES, InputDevice, devices_from
from voice_ui.realtime_session import RealtimeSession

USB = 'usb-0123'
HEADSET = 'headset-4567'
LISTED = [{'device_id': '', 'label': 'System default (Built-in)'}, {'device_id': USB, 'label': 'USB Microphone'},
          {'device_id': HEADSET, 'label': 'Headset'}]


def select(user: User) -> ui.select:
    return next(iter(user.find(marker='microphone').elements))


def session(user: User) -> RealtimeSession:
    return next(iter(user.find(RealtimeSession).elements))


def list_devices(user: User, devices=LISTED, selected: str = '') -> None:
    user.find(RealtimeSession).trigger(UiEvent.DEVICES, {'devices': devices, 'selected': selected})


def meters(user: User) -> dict[str, ui.element]:
    return {e.props['aria-label']: e for e in user.client.layout.descendants() if e.props.get('role') == 'meter'}


async def choose(user: User, label: str) -> None:
    user.find('Microphone').click()  # opens the popup
    user.find(label).click()


async def test_the_select_and_both_meters_are_on_the_page(user: User):
    await user.open('/')
    await user.should_see('Microphone')
    assert select(user).options == {'': DEFAULT_LABEL} and select(user).value == ''
    found = meters(user)
    assert set(found) == {'Microphone level', 'Agent level'}
    for meter in found.values():
        assert (meter.props['aria-valuemin'], meter.props['aria-valuemax'], meter.props['aria-valuenow']) == \
            ('0', '100', '0')
    # The browser draws into exactly these elements; it is told their DOM ids, and nothing is remembered yet.
    prop = session(user).props['microphone']
    assert prop == {'deviceId': '', 'label': '', 'meters': {'microphone': found['Microphone level'].html_id,
                                                            'agent': found['Agent level'].html_id}}
    # The select switches the device in the browser, inside the gesture (by the option's label).
    handlers = [listener.js_handler or '' for listener in select(user)._event_listeners.values()]
    assert any('set_microphone' in handler and 'v.label' in handler for handler in handlers), handlers


async def test_the_browsers_list_is_shown_with_the_device_in_use(user: User):
    await user.open('/')
    list_devices(user, selected=HEADSET)
    assert select(user).options == {d['device_id']: d['label'] for d in LISTED}
    assert select(user).value == HEADSET
    user.find('Microphone').click()
    await user.should_see('USB Microphone')
    await user.should_see('System default (Built-in)')


async def test_the_choice_is_remembered_for_this_user_and_passed_to_the_next_page(user: User, create_user):
    await user.open('/')
    list_devices(user)
    await choose(user, 'USB Microphone')
    assert select(user).value == USB

    await user.open('/')  # a new page of the same browser: the component starts on the remembered device
    assert session(user).props['microphone']['deviceId'] == USB
    assert session(user).props['microphone']['label'] == 'USB Microphone'
    assert select(user).value == USB and select(user).options[USB] == 'USB Microphone'

    other = create_user()  # another person (another browser) has their own choice
    await other.open('/')
    assert session(other).props['microphone']['deviceId'] == ''
    assert select(other).value == ''


async def test_a_missing_device_shows_the_default_but_stays_remembered(user: User):
    await user.open('/')
    list_devices(user)
    await choose(user, 'Headset')
    # Unplugged: the browser falls back to the default and says so; the page shows what is in use...
    list_devices(user, devices=LISTED[:2], selected='')
    user.find(RealtimeSession).trigger(UiEvent.NOTICE, {'kind': 'microphone', 'message':
                                                        'Microphone “Headset” is not connected — using the system '
                                                        'default microphone.'})
    assert select(user).value == '' and HEADSET not in select(user).options
    await user.should_see('is not connected')
    # ...but the person's choice is kept, so the next page (and the browser, once it is back) use it again.
    await user.open('/')
    assert session(user).props['microphone']['deviceId'] == HEADSET


async def test_choosing_the_default_is_remembered_too(user: User):
    await user.open('/')
    list_devices(user)
    await choose(user, 'Headset')
    await choose(user, 'System default (Built-in)')
    await user.open('/')
    assert session(user).props['microphone']['deviceId'] == ''


async def test_a_broken_devices_event_changes_nothing(user: User):
    await user.open('/')
    list_devices(user)
    before = dict(select(user).options)
    for args in ({'devices': 'x'}, {'devices': [{'device_id': USB, 'label': 'no default first'}]},
                 {'devices': [LISTED[0], LISTED[1], LISTED[1]]}, {}, []):
        user.find(RealtimeSession).trigger(UiEvent.DEVICES, args)
    assert select(user).options == before


def test_the_store_key_is_namespaced():
    assert STORAGE_KEY.startswith('voice_ui.')


SCALAR = st.none() | st.booleans() | st.integers() | st.text(max_size=300)
ANY_JSON = SCALAR | st.lists(SCALAR, max_size=5) | st.dictionaries(st.text(max_size=12), SCALAR, max_size=3)
DEVICE = st.fixed_dictionaries({'device_id': SCALAR, 'label': SCALAR}) | SCALAR
LIKELY_LIST = st.lists(DEVICE, max_size=40).map(lambda rest: [{'device_id': '', 'label': 'System default'}, *rest])


@settings(suppress_health_check=[HealthCheck.too_slow])  # a loaded 2-core machine generates slowly
@given(st.dictionaries(st.sampled_from(['devices', 'selected', 'other']), ANY_JSON)
       | st.fixed_dictionaries({'devices': LIKELY_LIST | st.lists(DEVICE, max_size=5), 'selected': ANY_JSON}))
def test_any_devices_event_is_refused_or_bounded(args):
    listed = devices_from(args)
    if listed is None:
        return
    devices, selected = listed
    assert devices and len(devices) <= MAX_DEVICES and devices[0].device_id == ''  # the system default first
    assert len({d.device_id for d in devices}) == len(devices)
    for device in devices:
        assert isinstance(device, InputDevice) and len(device.device_id) <= 256 and 0 < len(device.label) <= 200
    assert isinstance(selected, str) and len(selected) <= 256
