"""The sign-in sheet (Appendix A): its verbs and its cards."""
