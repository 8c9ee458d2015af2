"""Simulated Telegram users of the emulator: they send text, press inline buttons, share a contact,
pay an invoice, and wait for what the bot shows them (the tests drive them; so does the demo's
web chat).

Every action (`send`, `press`, ...) moves the user's reading cursor to "now": the following
`wait_for_message()` returns the first bot message or edit that appears after the action.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.emulator.server import BotAPIEmulator, EmuMessage

MessagePredicate = Callable[["EmuMessage"], bool] | str | None
_query_ids = itertools.count(1)


class SimUser:
    def __init__(
        self,
        emulator: BotAPIEmulator,
        *,
        id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        self.emulator = emulator
        self.id = id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.chat_id = id
        self._cursor = 0
        self.last_query_id: str | None = None

    # ---- identity ------------------------------------------------------------------------------

    def payload(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    # ---- what the user sees ----------------------------------------------------------------------

    @property
    def messages(self) -> list[EmuMessage]:
        """The bot's messages in this chat as shown now (deleted ones excluded), oldest first."""
        chat = self.emulator.chats.get(self.chat_id, {})
        return [m for m in chat.values() if m.from_bot and not m.deleted]

    @property
    def last_message(self) -> EmuMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    def _events(self) -> list[Any]:
        return self.emulator.chat_events.get(self.chat_id, [])

    def mark(self) -> None:
        """Move the reading cursor to now (actions do this themselves)."""
        self._cursor = len(self._events())

    async def wait_for_message(
        self,
        predicate: MessagePredicate = None,
        *,
        timeout: float = 10,  # noqa: ASYNC109 - the emulator's public waiting API
        edits: bool = True,
    ) -> EmuMessage:
        """The first bot message (or edit, unless `edits=False`) after the cursor that matches.

        `predicate` is a callable on the message or a substring of its text.
        """
        check_message: Callable[[EmuMessage], bool]
        if isinstance(predicate, str):
            needle = predicate
            check_message = lambda m: needle in (m.text or "")  # noqa: E731
        else:
            check_message = predicate or (lambda m: True)
        found: list[EmuMessage] = []

        def check() -> bool:
            events = self._events()
            for index in range(self._cursor, len(events)):
                event = events[index]
                if event.kind == "delete" or (event.kind == "edit" and not edits):
                    continue
                if check_message(event.message):
                    self._cursor = index + 1
                    found.append(event.message)
                    return True
            return False

        try:
            await self.emulator.wait_for(check, timeout=timeout)
        except TimeoutError:
            seen = [e.message for e in self._events()[self._cursor :]]
            raise AssertionError(
                f"user {self.id}: no matching bot message within {timeout}s; since the last "
                f"action the bot showed: {seen!r}"
            ) from None
        return found[0]

    async def wait_for_callback_answer(
        self,
        query_id: str | None = None,
        *,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The bot's answerCallbackQuery for `query_id` (default: the last pressed button)."""
        qid = query_id or self.last_query_id
        assert qid is not None, "no button was pressed"
        await self.emulator.wait_for(lambda: qid in self.emulator.callback_answers, timeout=timeout)
        return self.emulator.callback_answers[qid]

    # ---- actions ---------------------------------------------------------------------------------

    def _user_message(self, **fields: Any) -> dict[str, Any]:
        message_id = self.emulator.next_message_id(self.chat_id)
        return {
            "message_id": message_id,
            "date": int(self.emulator.clock()),
            "chat": self.emulator.chat_payload(self.chat_id),
            "from": self.payload(),
            **fields,
        }

    async def send(self, text: str, *, update_id: int | None = None) -> int:
        """Send a text message (a leading /command gets its entity); returns the update_id."""
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self.mark()
        return await self.emulator.push_update(
            {"message": self._user_message(**fields)}, update_id=update_id
        )

    async def send_document(
        self, file_name: str, content: bytes, *, mime_type: str = "application/octet-stream"
    ) -> int:
        """Send a file as a document (the bot can getFile and download it); the update_id."""
        file_id = f"doc-{self.id}-{next(_query_ids)}"
        self.emulator.files[file_id] = content
        document = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        self.mark()
        return await self.emulator.push_update({"message": self._user_message(document=document)})

    async def press(self, text: str) -> int:
        """Press the inline button whose text contains `text`, in the latest bot message that
        has one; returns the update_id."""
        for message in reversed(self.messages):
            button = message.find_button(text)
            if button is not None and "callback_data" in button:
                return await self.press_data(button["callback_data"], message_id=message.message_id)
        shown = [(m.message_id, m.button_texts()) for m in self.messages]
        raise AssertionError(f"user {self.id}: no button containing {text!r}; buttons: {shown!r}")

    async def press_data(self, data: str, message_id: int | None = None) -> int:
        """Send a callback query with any `data` (forged or stale buttons) on a bot message
        (default: the latest one)."""
        if message_id is None:
            last = self.last_message
            assert last is not None, f"user {self.id} has no bot message to press on"
            message_id = last.message_id
        message = self.emulator.message(self.chat_id, message_id)
        raw = (
            message.raw
            if message is not None
            else {
                "message_id": message_id,
                "date": int(self.emulator.clock()),
                "chat": self.emulator.chat_payload(self.chat_id),
            }
        )
        query_id = f"{self.id}-{next(_query_ids)}"
        self.last_query_id = query_id
        self.mark()
        return await self.emulator.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.payload(),
                    "message": raw,
                    "chat_instance": str(self.chat_id),
                    "data": data,
                }
            }
        )

    async def forward(self, text: str, origin: SimUser, *, hidden: bool = False) -> int:
        """Forward a text message `origin` wrote; `hidden` when the origin's privacy settings
        hide who they are (Telegram then sends only their name)."""
        sent_at = int(self.emulator.clock())
        if hidden:
            forward: dict[str, Any] = {
                "type": "hidden_user",
                "date": sent_at,
                "sender_user_name": origin.first_name,
            }
        else:
            forward = {"type": "user", "date": sent_at, "sender_user": origin.payload()}
        self.mark()
        return await self.emulator.push_update(
            {"message": self._user_message(text=text, forward_origin=forward)}
        )

    async def share_contact(self, phone: str, *, user_id: int | None = None) -> int:
        """Share a contact (by default the user's own: `user_id` = the user's id)."""
        contact = {
            "phone_number": phone,
            "first_name": self.first_name,
            "user_id": self.id if user_id is None else user_id,
        }
        if self.last_name:
            contact["last_name"] = self.last_name
        self.mark()
        return await self.emulator.push_update({"message": self._user_message(contact=contact)})

    async def pre_checkout(
        self, *, total_amount: int, currency: str, payload: str, query_id: str | None = None
    ) -> str:
        """Send a pre_checkout_query; returns its id (see `emulator.pre_checkout_answers`)."""
        qid = query_id or f"pcq-{self.id}-{next(_query_ids)}"
        self.mark()
        await self.emulator.push_update(
            {
                "pre_checkout_query": {
                    "id": qid,
                    "from": self.payload(),
                    "currency": currency,
                    "total_amount": total_amount,
                    "invoice_payload": payload,
                }
            }
        )
        return qid

    async def successful_payment(
        self,
        *,
        total_amount: int,
        currency: str,
        payload: str,
        charge_id: str | None = None,
    ) -> int:
        """Send the service message of a successful payment; returns the update_id."""
        charge = charge_id or f"tg-charge-{self.id}-{next(_query_ids)}"
        self.mark()
        return await self.emulator.push_update(
            {
                "message": self._user_message(
                    successful_payment={
                        "currency": currency,
                        "total_amount": total_amount,
                        "invoice_payload": payload,
                        "telegram_payment_charge_id": charge,
                        "provider_payment_charge_id": f"provider-{charge}",
                    }
                )
            }
        )

    async def pay(
        self,
        invoice: EmuMessage | None = None,
        *,
        charge_id: str | None = None,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Pay an invoice the bot sent (default: the latest): pre-checkout, and if the bot
        approves it, the successful payment. Returns the bot's pre-checkout answer."""
        if invoice is None:
            invoices = [m for m in self.messages if m.invoice is not None]
            assert invoices, f"user {self.id} has no invoice to pay"
            invoice = invoices[-1]
        assert invoice.invoice is not None
        data = invoice.invoice
        qid = await self.pre_checkout(
            total_amount=data["total_amount"], currency=data["currency"], payload=data["payload"]
        )
        await self.emulator.wait_for(
            lambda: qid in self.emulator.pre_checkout_answers, timeout=timeout
        )
        answer = self.emulator.pre_checkout_answers[qid]
        if answer.get("ok"):
            await self.successful_payment(
                total_amount=data["total_amount"],
                currency=data["currency"],
                payload=data["payload"],
                charge_id=charge_id,
            )
        return answer
