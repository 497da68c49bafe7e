"""The three award actions, thin over the plain functions in `actions.award_answers`.

The jobs live apart: `actions.award_understanding` reads the message,
`actions.award_wording` puts facts into words (``content/awards/replies.yml``),
`actions.award_answers` reads the register and decides what to say. An action
here only opens one short session per call, sends the answer and, when the
register cannot be read, says so, in one place for all three.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import sessionmaker

from actions import award_answers
from actions.award_answers import Answer, database_trouble
from actions.endpoint import ConfiguredAction
from bot.config import Settings
from bot.db.session import create_engine, create_sessionmaker
from bot.nlu.segments import question_count

logger = logging.getLogger(__name__)


def send(dispatcher: CollectingDispatcher, answer: Answer) -> None:
    """Sends an answer's replies: award wording as text, domain responses by name."""
    for reply in answer.replies:
        if reply.response:
            dispatcher.utter_message(response=reply.response, buttons=reply.buttons)
        else:
            dispatcher.utter_message(text=reply.text, buttons=reply.buttons)


class RegisterAction(ConfiguredAction):
    """An action that answers from the awards register.

    The action server creates each action once, so its engine is made once per
    process, on the first question (never at import), from the action's settings.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        """Keeps the settings; the engine is made when first needed.

        Args:
            settings: The application settings (default: read from the environment).

        """
        super().__init__(settings)
        self._engine: AsyncEngine | None = None
        self._sessions: sessionmaker | None = None

    @abstractmethod
    async def answer(self, session: AsyncSession, tracker: Tracker) -> Answer:
        """The answer to the latest message, read from the register in ``session``."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Answers in one short session; a database error gets the one apology."""
        answer = await self.answer_for(tracker)
        send(dispatcher, answer)
        return answer.events()

    async def answer_for(self, tracker: Tracker) -> Answer:
        """The answer to ``tracker``'s latest message, or the apology if the register fails.

        The several-questions action answers an award piece of a message with this.
        """
        try:
            async with self._session_factory()() as session:
                return await self.answer(session, tracker)
        except SQLAlchemyError:
            logger.exception("%s: the awards register could not be read", self.name())
            return database_trouble()

    def _session_factory(self) -> sessionmaker:
        if self._sessions is None:
            self._engine = create_engine(self.settings)
            self._sessions = create_sessionmaker(self._engine)
        return self._sessions


class ActionAwardLookup(RegisterAction):
    """Answer award questions: by name, place, region, sector, supplier, amount, date."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_award_lookup"

    async def answer(self, session: AsyncSession, tracker: Tracker) -> Answer:
        """Look up awards; the ones found are remembered for follow-ups."""
        return await award_answers.look_up(session, tracker, self.settings.public_base_url)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Answers the award question; a message that also asks others goes to them all.

        "how do we apply, and what did Knowsley get?" reads as an award question;
        the several-questions action answers each of its questions, this one too.
        """
        text = str(tracker.latest_message.get("text") or "")
        if not text.startswith("/") and question_count(text) >= 2:
            return [FollowupAction("action_answer_several")]
        return await super().run(dispatcher, tracker, domain)


class ActionAwardTotals(RegisterAction):
    """Programme totals (sourced figures) and what the register itself holds."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_award_totals"

    async def answer(self, session: AsyncSession, tracker: Tracker) -> Answer:
        """The sourced programme totals and the register's count and sum."""
        return await award_answers.totals(session, tracker)


class ActionAwardSource(RegisterAction):
    """Cite the source of the awards just discussed (or of the programme figures)."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_award_source"

    async def answer(self, session: AsyncSession, tracker: Tracker) -> Answer:
        """The source of each award in ``award_ids`` (or named in the message)."""
        return await award_answers.sources(session, tracker, self.settings.public_base_url)
