from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.users import Binding, BindingStatus, User
from tests.fakes import T0
from tests.unit.conftest import G1, World


def _resident(status: BindingStatus) -> User:
    binding = Binding(G1, "15", "2", "301", status, T0, "code1")
    return User("r1", Role.RESIDENT, G1, T0, phone="+8613800000001", binding=binding)


def test_a_new_pending_binding_tells_the_grid_workers(world: World) -> None:
    worker = world.staff(Role.GRID_WORKER, G1)
    notes = world.events.notifications_for(None, _resident(BindingStatus.PENDING))
    assert [(n.user_id, n.kind) for n in notes] == [(worker.user_id, "resident_pending")]


def test_verification_tells_the_resident_once(world: World) -> None:
    pending = _resident(BindingStatus.PENDING)
    assert pending.binding is not None
    verified = replace(pending, binding=replace(pending.binding, status=BindingStatus.VERIFIED, verified_at=T0))
    first = world.events.notifications_for(pending, verified)
    assert [(n.user_id, n.kind) for n in first] == [("r1", "binding_verified")]
    assert world.events.notifications_for(verified, replace(verified, name="王")) == []
    # the same change seen twice (a retried stream batch) gives the same id
    assert world.events.notifications_for(pending, verified)[0].notification_id == first[0].notification_id


def test_delivery_is_idempotent_and_counts_unread(world: World) -> None:
    note = world.events.notifications_for(None, replace(_resident(BindingStatus.REFUSED)))[0]
    assert world.notifications.deliver(note)
    assert not world.notifications.deliver(note)
    me = Principal("r1", Role.RESIDENT, G1)
    inbox = world.notifications.inbox(me, None, None)
    assert inbox.unread == 1 and [n.kind for n in inbox.page.items] == ["binding_refused"]
    world.notifications.mark_read(me, note.notification_id)
    assert world.notifications.inbox(me, None, None).unread == 0
