"""Courses: a teacher's materials and question bank shared with a class."""
