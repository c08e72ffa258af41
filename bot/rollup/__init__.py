"""Focal points and the Ethics Office: progress, sheets, exports, certification."""
