"""Legal clocks (限时办结): working days from China's official calendar, due dates, warnings.

Pure: every function takes ``now`` or a date; nothing here reads a clock or does I/O.
"""

from server.clocks.calendar import WorkingCalendar
from server.clocks.clock import ClockState, ClockView, due_date, view

__all__ = ["ClockState", "ClockView", "WorkingCalendar", "due_date", "view"]
