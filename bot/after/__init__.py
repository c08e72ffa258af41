"""After the session: Appendix C, Appendix F and the questions' path."""
