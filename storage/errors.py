"""Storage failures in terms the rest of the bot can act on, free of azure-core types."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

P = ParamSpec("P")
T = TypeVar("T")


class StorageUnavailable(RuntimeError):
    """Storage did not answer or failed after the client's retries; nothing can be promised."""


class WriteConflict(RuntimeError):
    """A conditional write lost to a concurrent writer; re-read and try again."""


class ActiveSessionExists(RuntimeError):
    """The chat already has an active session."""

    def __init__(self, session_id: str) -> None:
        super().__init__("the chat already has an active session")
        self.session_id = session_id


def translated(func: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn azure-core failures that no caller handles itself into StorageUnavailable."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await func(*args, **kwargs)
        except (ResourceExistsError, ResourceNotFoundError, ResourceModifiedError):
            # These carry meaning the repository should have handled; let them surface as bugs.
            raise
        except HttpResponseError as error:
            raise StorageUnavailable(f"storage answered {error.status_code}") from error
        except AzureError as error:
            raise StorageUnavailable(type(error).__name__) from error
        except OSError as error:
            raise StorageUnavailable(type(error).__name__) from error

    return wrapper


# Everything a repository call may raise when storage failed, the kinds no repository translates
# included: what a command line reports as "storage failed, run it again".
FAILURES: tuple[type[Exception], ...] = (StorageUnavailable, AzureError, OSError)


class AggregateTooLarge(ValueError):
    """The Appendix F aggregate would exceed what one Azure Tables entity may hold."""
